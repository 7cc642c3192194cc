package server

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestWithRequestID(t *testing.T) {
	shared := (*fhir.OperationOutcome)(nil).Add(fhir.CodeInvalid, "", "bad thing")
	for _, tc := range []struct {
		name string
		oo   *fhir.OperationOutcome
		id   string
		want string
	}{
		{"id appended", shared, "req-1", "bad thing (request id: req-1)"},
		{"no id", shared, "", "bad thing"},
		{"empty diagnostics", (*fhir.OperationOutcome)(nil).Add(fhir.CodeInvalid, "", ""), "r", "(request id: r)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := withRequestID(tc.oo, tc.id)
			if got.Issues[0].Diagnostics != tc.want {
				t.Errorf("diagnostics %q, want %q", got.Issues[0].Diagnostics, tc.want)
			}
		})
	}
	if shared.Issues[0].Diagnostics != "bad thing" {
		t.Errorf("the shared outcome was changed: %q", shared.Issues[0].Diagnostics)
	}
	if withRequestID(nil, "x") != nil {
		t.Errorf("nil outcome gained issues")
	}
}
