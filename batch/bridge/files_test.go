package bridge

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// fakeReprocessor is a module with inbound jobs.
type fakeReprocessor struct{ jobs []string }

func (f fakeReprocessor) InboundJobs() []string { return f.jobs }

func (f fakeReprocessor) Reprocess(context.Context, io.Writer, *store.Store, inbound.Router, string, string) error {
	return nil
}

// TestReprocessorPicksTheModuleOfTheJob: files reprocess (and the console)
// goes to the only
// module that reads inbound files, else to the one with --job, and says
// why when it cannot choose.
func TestReprocessorPicksTheModuleOfTheJob(t *testing.T) {
	a, b := fakeReprocessor{[]string{"cancel"}}, fakeReprocessor{[]string{"results", "other"}}
	cases := []struct {
		name    string
		rps     map[string]FileReprocessor
		job     string
		want    []string // the jobs of the module picked
		wantErr string
	}{
		{"none", nil, "", nil, "no configured connector reads inbound files"},
		{"the only one", map[string]FileReprocessor{"a": a}, "", a.jobs, ""},
		{"the only one names an unknown job itself", map[string]FileReprocessor{"a": a}, "nope", a.jobs, ""},
		{"several without a job", map[string]FileReprocessor{"a": a, "b": b}, "", nil, "several connectors read inbound files (a, b)"},
		{"several, the job's", map[string]FileReprocessor{"a": a, "b": b}, "other", b.jobs, ""},
		{"several, no such job", map[string]FileReprocessor{"a": a, "b": b}, "nope", nil, `inbound job "nope": in 0 of`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rp, err := PickReprocessor(tt.rps, tt.job)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rp.InboundJobs(); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("picked the module with jobs %v, want %v", got, tt.want)
			}
		})
	}
}
