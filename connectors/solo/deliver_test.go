package solo

import (
	"context"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func TestDeliverOperations(t *testing.T) {
	ctx := context.Background()
	for _, fresh := range []bool{true, false} {
		e := newEnv(t, solosim.Options{}, 0)
		res, err := e.c.Deliver(ctx, patientCreate(t, fresh))
		if err != nil {
			t.Fatal(err)
		}
		if res.VendorID != "pat-1" || res.Attributes["spid"] != "1001" {
			t.Fatalf("patient create result %+v", res)
		}
		upd := patientCreate(t, false)
		upd.Op, upd.VendorID, upd.Body = connectors.Update, res.VendorID, body(t, `{"deceased":true,"deceasedAt":"2020-03-31 10:12 AM"}`)
		if res, err := e.c.Deliver(ctx, upd); err != nil || res.VendorID != "pat-1" {
			t.Fatalf("patient update: %+v %v", res, err)
		}
		if ps := e.sim.Patients(); len(ps) != 1 || ps[0].Doc["deceased"] != true || ps[0].Doc["id"] != "pat-1" {
			t.Fatalf("patients %+v", ps)
		}

		ares, err := e.c.Deliver(ctx, apptCreate(t, res.VendorID, fresh))
		if err != nil {
			t.Fatal(err)
		}
		if ares.VendorID != "5001" || ares.Attributes["visitUrl"] != "https://solo.sim/visit/5001" {
			t.Fatalf("appointment create result %+v", ares)
		}
		au := apptCreate(t, "", false)
		au.Op, au.VendorID, au.Body = connectors.Update, ares.VendorID, body(t, `{"date":1499441179,"duration":1800,"waitingRoom":"x","externalId":"appt-1"}`)
		if r, err := e.c.Deliver(ctx, au); err != nil || r.VendorID != "5001" {
			t.Fatalf("appointment update: %+v %v", r, err)
		}
		ac := au
		ac.Op, ac.Body = connectors.Cancel, nil
		if _, err := e.c.Deliver(ctx, ac); err != nil {
			t.Fatalf("appointment cancel: %v", err)
		}
		as := e.sim.Appointments()
		if len(as) != 1 || as[0].Duration != 1800 || as[0].Status != "cancelled" || as[0].PatientID != "pat-1" || as[0].ExternalID != "appt-1" {
			t.Fatalf("appointments %+v", as)
		}
	}
}

func TestDeliverRefusals(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 0)
	cases := []struct {
		name  string
		d     connectors.Delivery
		class connectors.Class
	}{
		{"unknown flow", connectors.Delivery{Flow: "solo/encounter", Op: connectors.Create, Body: body(t, `{}`)}, connectors.Permanent},
		{"update without id", connectors.Delivery{Flow: FlowPatient, Op: connectors.Update, Body: body(t, `{}`)}, connectors.Permanent},
		{"appointment before its patient", apptCreate(t, "", true), connectors.Transient},
		{"unknown patient", apptCreate(t, "nobody", true), connectors.Permanent},
		{"unknown appointment", connectors.Delivery{Flow: FlowAppointment, Op: connectors.Cancel, VendorID: "999"}, connectors.Permanent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.c.Deliver(context.Background(), c.d)
			if class, _ := connectors.Classify(err); err == nil || class != c.class {
				t.Fatalf("err %v class %v, want %v", err, class, c.class)
			}
		})
	}
}

// RELIABILITY §11: the vendor commits, the answer never arrives, the
// relay retries with the same key: one record at the vendor.
func TestTimeoutAfterCommitThenRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, solosim.Options{}, 300*time.Millisecond)
	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Times: 1, TimeoutAfterCommit: true})
	if _, err := e.c.Deliver(ctx, patientCreate(t, true)); err == nil {
		t.Fatal("the lost answer must be an error")
	} else if class, _ := connectors.Classify(err); class != connectors.Transient {
		t.Fatalf("class %v: %v", class, err)
	}
	res, err := e.c.Deliver(ctx, patientCreate(t, false))
	if err != nil || res.VendorID != "pat-1" {
		t.Fatalf("retry: %+v %v", res, err)
	}
	if n := len(e.sim.Patients()); n != 1 {
		t.Fatalf("%d patients at the vendor, want 1", n)
	}

	e.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients/*/appointments", Times: 1, TimeoutAfterCommit: true})
	if _, err := e.c.Deliver(ctx, apptCreate(t, "pat-1", true)); err == nil {
		t.Fatal("the lost answer must be an error")
	}
	ares, err := e.c.Deliver(ctx, apptCreate(t, "pat-1", false))
	if err != nil || ares.VendorID != "5001" || ares.Attributes["visitUrl"] == "" {
		t.Fatalf("retry: %+v %v", ares, err)
	}
	if n := len(e.sim.Appointments()); n != 1 {
		t.Fatalf("%d appointments at the vendor, want 1", n)
	}
	// Without the lookup (Fresh claimed wrongly) the vendor would hold two:
	// the simulator does not dedupe, so the test above is meaningful.
	if _, err := e.c.Deliver(ctx, apptCreate(t, "pat-1", true)); err != nil || len(e.sim.Appointments()) != 2 {
		t.Fatalf("the simulator should accept a blind duplicate: %v", err)
	}
}

func TestCheck(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 0)
	if err := e.c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := mustNew(t, Config{BaseURL: e.srv.URL, APIKey: "wrong"})
	if class, _ := connectors.Classify(bad.Check(context.Background())); class != connectors.Reconnect {
		t.Fatalf("a refused key must ask for a reconnect, got %v", class)
	}
}
