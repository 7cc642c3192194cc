package delivery

import (
	"context"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// TestDeleteRouted: a deleted Appointment the vendor has is delivered as
// its cancellation (Solo sees status cancelled); one the vendor never had
// is skipped; a deleted Patient, which no flow can express, is
// dead-lettered with a reason naming the type and our id, no value; the
// observers see each deletion with a nil resource.
func TestDeleteRouted(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	var observed []string
	rt := &Router{Routes: []Route{
		{Flow: solo.FlowPatient, Resource: "Patient"},
		{Flow: solo.FlowAppointment, Resource: "Appointment"},
	}}
	rt.Observe(Observer{Name: "test", Types: []string{"Appointment", "Patient"},
		Observe: func(_ context.Context, _ *store.Tx, typ, id string, v int, res *fhir.Value) error {
			if res == nil {
				observed = append(observed, typ+"/"+id)
			}
			return nil
		}})
	put := func(typ, id, body string) {
		t.Helper()
		err := e.st.InTx(ctx, func(tx *store.Tx) error {
			v, err := fhir.DecodeString(body, fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			ver, _, err := tx.PutValue(ctx, typ, id, v)
			if err != nil {
				return err
			}
			return rt.Route(ctx, tx, typ, id, ver, v)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	del := func(typ, id string) {
		t.Helper()
		err := e.st.InTx(ctx, func(tx *store.Tx) error {
			ver, body, err := tx.DeleteResource(ctx, typ, id)
			if err != nil {
				return err
			}
			last, err := fhir.Decode(body, fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			return rt.RouteDelete(ctx, tx, typ, id, ver, last)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("Patient", "pat-1", patientJSON("pat-1"))
	put("Appointment", "appt-1", apptJSON("appt-1", "pat-1"))
	e.start()
	e.waitFor("patient and appointment delivered", allDelivered(e, 2))
	if a := e.sim.Appointments(); len(a) != 1 || a[0].Status == "cancelled" {
		t.Fatalf("appointments before the delete: %+v", a)
	}

	del("Appointment", "appt-1")
	e.waitFor("the deletion delivered", allDelivered(e, 3))
	if a := e.sim.Appointments(); len(a) != 1 || a[0].Status != "cancelled" {
		t.Fatalf("appointments after the delete: %+v, want the one cancelled", a)
	}
	if n := len(e.requests("PUT", "/qapi/v1/appointments/")); n != 1 {
		t.Errorf("%d appointment PUTs at Solo, want the one cancellation", n)
	}

	// created then deleted before its first job ran: created, then
	// cancelled, in order, as for a PUT of the cancelled Appointment
	e.stop()
	put("Appointment", "appt-2", apptJSON("appt-2", "pat-1"))
	del("Appointment", "appt-2")
	e.start()
	e.waitFor("appt-2 created and cancelled", allDelivered(e, 5))
	for _, a := range e.sim.Appointments() {
		if a.Status != "cancelled" {
			t.Errorf("appointment %s at Solo is %q, want cancelled", a.ExternalID, a.Status)
		}
	}
	// never sent (stored without a route), then deleted: nothing to tell
	// the vendor
	before := len(e.sim.Requests())
	if err := e.st.InTx(ctx, func(tx *store.Tx) error {
		v, _ := fhir.DecodeString(apptJSON("appt-3", "pat-1"), fhir.DecodeOptions{})
		_, _, err := tx.PutValue(ctx, "Appointment", "appt-3", v)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	del("Appointment", "appt-3")
	e.waitFor("appt-3's deletion skipped", allDelivered(e, 6))
	if n := len(e.sim.Requests()); n != before {
		t.Errorf("%d requests to Solo for an appointment it never had, want none", n-before)
	}

	del("Patient", "pat-1")
	e.waitFor("the patient's deletion dead-lettered", func() bool { return len(e.jobs(StateDeadLetter)) == 1 })
	j := e.jobs(StateDeadLetter)[0]
	if j.ResourceType != "Patient" || !strings.Contains(j.LastError, "Patient/pat-1 was deleted") ||
		!strings.Contains(j.LastError, "cannot deliver the deletion of a Patient") || strings.Contains(j.LastError, canary) {
		t.Errorf("dead letter %s/%s: %q", j.ResourceType, j.ResourceID, j.LastError)
	}
	if got := strings.Join(observed, ","); got != "Appointment/appt-1,Appointment/appt-2,Appointment/appt-3,Patient/pat-1" {
		t.Errorf("observers saw deletions %q", got)
	}
}

// TestDeleteWhen: a route's when sees an Appointment's deletion as the
// cancelled Appointment.
func TestDeleteWhen(t *testing.T) {
	st := storeOpen(t)
	ctx := context.Background()
	rt := &Router{Routes: []Route{
		{Flow: "cancels", Resource: "Appointment", When: compileWhen(t, "status = 'cancelled'")},
		{Flow: "booked-only", Resource: "Appointment", When: compileWhen(t, "status = 'booked'")},
	}}
	last, _ := fhir.DecodeString(apptJSON("a", "p"), fhir.DecodeOptions{})
	err := st.InTx(ctx, func(tx *store.Tx) error {
		return rt.RouteDelete(ctx, tx, "Appointment", "a", 2, last)
	})
	if err != nil {
		t.Fatal(err)
	}
	js, err := NewQueue(st).List(ctx, Filter{})
	if err != nil || len(js) != 1 || js[0].Flow != "cancels" || js[0].Version != 2 {
		t.Fatalf("jobs %+v, %v; want one on cancels for version 2", js, err)
	}
}

// compileWhen compiles a route condition.
func compileWhen(t *testing.T, expr string) *fhirpath.Expr {
	t.Helper()
	x, err := fhirpath.Compile(expr, fhirpath.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// storeOpen opens a fresh store for t (see storeURL).
func storeOpen(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), storeURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
