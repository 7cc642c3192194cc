package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// TestRouteIntake: a route refuses at acceptance a resource whose parent
// reference is missing or names nothing stored (unless it awaits parents),
// and one its mapping refuses; the outcome names the element path and our
// ids, never a value. Accepted resources are enqueued.
func TestRouteIntake(t *testing.T) {
	e := newEnv(t, Options{})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	episode := load(t, "solo/episode", nil)
	appt := Route{Flow: solo.FlowAppointment, Resource: "Appointment", Parents: []string{"Patient"}}
	awaiting := appt
	awaiting.AwaitParents = true
	eoc := Route{Flow: "episodes", Resource: "EpisodeOfCare", Parents: []string{"Patient"}, Mapping: episode}
	const eocNoType = `{"resourceType":"EpisodeOfCare","id":"eoc-1","status":"active","patient":{"reference":"Patient/pat-1"},"period":{"start":"2026-11-30"}}`
	for _, tc := range []struct {
		name      string
		rt        Route
		typ, body string
		want      string // an issue expression; "" accepted
		code      string
	}{
		{"stored parent", appt, "Appointment", apptJSON("a1", "pat-1"), "", ""},
		{"parent neither sent nor stored", appt, "Appointment", apptJSON("a2", "pat-404"), "Appointment.participant[0].actor", fhir.CodeNotFound},
		{"awaited parent", awaiting, "Appointment", apptJSON("a3", "pat-404"), "", ""},
		{"no parent reference", awaiting, "Appointment", `{"resourceType":"Appointment","id":"a4","status":"booked","participant":[{"actor":{"reference":"Practitioner/x"},"status":"accepted"}]}`, "Appointment", fhir.CodeRequired},
		{"mapping refuses: no type", eoc, "EpisodeOfCare", eocNoType, "EpisodeOfCare.type.coding.code", fhir.CodeValue},
		{"mapping accepts", eoc, "EpisodeOfCare", strings.Replace(eocNoType, `"period"`, `"type":[{"coding":[{"code":"covid"}]}],"period"`, 1), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := fhir.DecodeString(tc.body, fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			id := res.GetString("id")
			err = e.st.InTx(context.Background(), func(tx *store.Tx) error {
				return (&Router{Routes: []Route{tc.rt}}).Route(context.Background(), tx, tc.typ, id, 1, res)
			})
			queued := false
			for _, j := range e.jobs("") {
				queued = queued || (j.ResourceType == tc.typ && j.ResourceID == id)
			}
			if tc.want == "" {
				if err != nil || !queued {
					t.Fatalf("Route = %v, queued %v; want accepted and queued", err, queued)
				}
				return
			}
			var oo *fhir.OperationOutcome
			if !errors.Is(err, server.ErrRefused) || !errors.As(err, &oo) || len(oo.Issues) != 1 {
				t.Fatalf("Route = %v, want a refusal with one issue", err)
			}
			if is := oo.Issues[0]; is.Code != tc.code || len(is.Expression) != 1 || is.Expression[0] != tc.want {
				t.Errorf("issue = %+v, want code %s at %s", is, tc.code, tc.want)
			}
			if queued {
				t.Error("a refused resource was queued")
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the refusal quotes a patient value: %v", err)
			}
		})
	}
}

// TestParentWaitBound: a job whose parent resource never arrives is
// dead-lettered once the flow's ParentWait has passed, with a reason
// naming the reference; without a bound it keeps waiting.
func TestParentWaitBound(t *testing.T) {
	e := newEnv(t, Options{})
	f := e.r.flows[solo.FlowAppointment]
	f.ParentWait = 100 * time.Millisecond
	e.r.flows[solo.FlowAppointment] = f
	e.put(solo.FlowAppointment, "Appointment", "appt-1", apptJSON("appt-1", "pat-never"))
	e.start()
	e.waitFor("dead-lettered", func() bool { return len(e.jobs(StateDeadLetter)) == 1 })
	reason := e.jobs(StateDeadLetter)[0].LastError
	for _, want := range []string{"Patient/pat-never", "Appointment.participant[0].actor", "never arrived"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
}
