package tyto_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tyto"
	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
)

// TestRefusalKeepsPortalWording: a refusal's reason (the dead-letter
// reason) holds the portal's wording, not the values it echoed.
func TestRefusalKeepsPortalWording(t *testing.T) {
	sim, c, _ := setup(t, "")
	sim.Inject(tytosim.Fault{Method: "PUT", Status: 400,
		Message: "Clinician Identifier format invalid [Ada Lovelace, dr-canary-42, ada@canary.example]"})
	_, err := c.Deliver(context.Background(), connectors.Delivery{Flow: tyto.FlowClinician, Op: connectors.Create,
		ResourceType: "Practitioner", ResourceID: "p-1",
		Body: body(t, `{"identifier":"dr-canary-42","firstName":"Ada","lastName":"Lovelace"}`)})
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Permanent {
		t.Fatalf("err %v, want a permanent failure", err)
	}
	got := err.Error()
	if want := "portal said: Clinician Identifier format invalid […]"; !strings.Contains(got, want) {
		t.Errorf("reason %q lacks %q", got, want)
	}
	for _, canary := range []string{"Ada", "Lovelace", "canary"} {
		if strings.Contains(got, canary) {
			t.Errorf("canary %q in the reason %q", canary, got)
		}
	}
}
