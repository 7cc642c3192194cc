package delivery

import (
	"context"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// Every attempt is in the message log, linked to its job: the retried
// ones as pending with the vendor's status, the last as delivered, each
// with the time the vendor took.
func TestAttemptsLogged(t *testing.T) {
	e := newEnv(t, Options{})
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Status: 503, Times: 2})
	e.put(solo.FlowPatient, "Patient", "p1", patientJSON("p1"))
	e.start()
	e.waitFor("delivered", allDelivered(e, 1))
	e.stop()
	msgs, _, err := e.st.SearchMessages(context.Background(), store.MessageQuery{ResourceID: "p1", Direction: store.Out})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 2 retries and the delivery", len(msgs))
	}
	job := msgs[0].JobID
	for i, m := range msgs { // newest first
		want, code := store.StatusPending, 503
		if i == 0 {
			want, code = store.StatusDelivered, 0
		}
		if m.Status != want || m.JobID != job || job == 0 || m.StatusCode != code || m.Elapsed <= 0 || m.Vendor != "solo" {
			t.Errorf("attempt %d: %+v, want %s, job %d, HTTP %d, a duration", len(msgs)-i, m, want, job, code)
		}
	}
}
