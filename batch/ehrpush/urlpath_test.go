package ehrpush

import (
	"context"
	"errors"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestPutPathSegments: the type and id are one escaped segment each; "."
// and ".." never reach the EHR (they would name another resource).
func TestPutPathSegments(t *testing.T) {
	cases := []struct {
		name, typ, id string
		want          string // the path the EHR sees; "" for a refusal
	}{
		{"plain", "Patient", "p-1", "/fhir/Patient/p-1"},
		{"slash escaped", "Patient", "a/b", "/fhir/Patient/a%2Fb"},
		{"percent escaped once", "Patient", "50%", "/fhir/Patient/50%25"},
		{"id dot-dot", "Patient", "..", ""},
		{"id dot", "Patient", ".", ""},
		{"type dot-dot", "..", "p-1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			_, _, err := e.push.put(context.Background(), tc.typ, tc.id, []byte(`{"resourceType":"Patient"}`))
			e.ehr.mu.Lock()
			reqs := append([]request(nil), e.ehr.reqs...)
			e.ehr.mu.Unlock()
			if tc.want == "" {
				if !errors.Is(err, connectors.ErrPathSegment) {
					t.Fatalf("err %v, want ErrPathSegment", err)
				}
				if class, _ := connectors.Classify(err); class != connectors.Permanent {
					t.Errorf("class %s, want permanent", class)
				}
				if len(reqs) != 0 {
					t.Errorf("%d requests reached the EHR", len(reqs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) != 1 || reqs[0].path != tc.want {
				t.Errorf("requests %+v, want one to %s", reqs, tc.want)
			}
		})
	}
}
