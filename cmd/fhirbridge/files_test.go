package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// fakeReprocessor is a module with inbound jobs.
type fakeReprocessor struct{ jobs []string }

func (f fakeReprocessor) InboundJobs() []string { return f.jobs }

func (f fakeReprocessor) Reprocess(context.Context, io.Writer, *store.Store, inbound.Router, string, string) error {
	return nil
}

// TestReprocessorPicksTheModuleOfTheJob: files reprocess goes to the only
// module that reads inbound files, else to the one with --job, and says
// why when it cannot choose.
func TestReprocessorPicksTheModuleOfTheJob(t *testing.T) {
	a, b := fakeReprocessor{[]string{"cancel"}}, fakeReprocessor{[]string{"results", "other"}}
	cases := []struct {
		name    string
		rps     map[string]bridge.FileReprocessor
		job     string
		want    []string // the jobs of the module picked
		wantErr string
	}{
		{"none", nil, "", nil, "no configured connector reads inbound files"},
		{"the only one", map[string]bridge.FileReprocessor{"a": a}, "", a.jobs, ""},
		{"the only one names an unknown job itself", map[string]bridge.FileReprocessor{"a": a}, "nope", a.jobs, ""},
		{"several without a job", map[string]bridge.FileReprocessor{"a": a, "b": b}, "", nil, "several connectors read inbound files (a, b)"},
		{"several, the job's", map[string]bridge.FileReprocessor{"a": a, "b": b}, "other", b.jobs, ""},
		{"several, no such job", map[string]bridge.FileReprocessor{"a": a, "b": b}, "nope", nil, `inbound job "nope": in 0 of`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			rp, err := reprocessor(tt.rps, tt.job)
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

// TestModuleSubcommands: a module's commands go under the shared parent
// they name; a parent other than import or export panics.
func TestModuleSubcommands(t *testing.T) {
	cmds := func(names ...string) func() []*cobra.Command {
		return func() []*cobra.Command {
			var out []*cobra.Command
			for _, n := range names {
				out = append(out, &cobra.Command{Use: n})
			}
			return out
		}
	}
	cases := []struct {
		name      string
		sub       map[string]func() []*cobra.Command
		wantPath  []string
		wantPanic bool
	}{
		{"import", map[string]func() []*cobra.Command{"import": cmds("x-report")}, []string{"import", "x-report"}, false},
		{"export", map[string]func() []*cobra.Command{"export": cmds("x")}, []string{"export", "x"}, false},
		{"a parent not shared", map[string]func() []*cobra.Command{"serve": cmds("x")}, nil, true},
		{"no such parent", map[string]func() []*cobra.Command{"nope": cmds("x")}, nil, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			root := &cobra.Command{Use: "fhirbridge"}
			root.AddCommand(newImportCmd(), newExportCmd(), &cobra.Command{Use: "serve"})
			defer func() {
				if r := recover(); (r != nil) != tt.wantPanic {
					t.Errorf("panic %v, want one: %v", r, tt.wantPanic)
				}
			}()
			addModuleSubcommands(root, []bridge.ModuleInfo{{Name: "x", Subcommands: tt.sub}})
			c, _, err := root.Find(tt.wantPath)
			if err != nil || c.Name() != tt.wantPath[len(tt.wantPath)-1] {
				t.Errorf("%v: found %v (%v)", tt.wantPath, c, err)
			}
		})
	}
}
