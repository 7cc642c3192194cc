package solo

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestRefusalKeepsVendorWording: the reason a refused delivery carries
// (what the queue stores as the dead-letter reason) holds Solo's wording
// and field names, and none of the values Solo echoed back.
func TestRefusalKeepsVendorWording(t *testing.T) {
	cases := []struct {
		name, msg string
		want      []string
	}{
		{"echo in brackets", "Bad parameters [lastName: Canaryson is not accepted for Tweety, born 1983-08-15.]",
			[]string{"solo answered 422", "solo said: Bad parameters [lastName: … is not accepted for …, born ….]"}},
		{"echo quoted, with an id and an email", `Patient "Tweety Canaryson" (MRN-CANARY-7731, tweety@canary.example) already exists`,
			[]string{"solo said: Patient … (…) already exists"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, solosim.Options{}, 0)
			e.sim.Inject(solosim.Fault{Method: http.MethodPost, Path: "/qapi/v1/patients", Status: 422, Message: tc.msg})
			_, err := e.c.Deliver(context.Background(), patientCreate(t, true))
			if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent {
				t.Fatalf("err %v, want a permanent failure", err)
			}
			got := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("reason %q lacks %q", got, w)
				}
			}
			for _, c := range []string{"Tweety", "Canaryson", "CANARY", "7731", "1983", "canary.example"} {
				if strings.Contains(got, c) {
					t.Errorf("canary %q in the reason %q", c, got)
				}
			}
		})
	}
}
