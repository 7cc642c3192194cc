package solo

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

const episodeJSON = `{"name":"covid care","type":"covid","from":"2026-03-29","status":"ACTIVE"}`

// epSetup creates patient pat-1 and appointment appt-1 (SAID 5001).
func epSetup(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, solosim.Options{}, 0)
	ctx := context.Background()
	if _, err := e.c.Deliver(ctx, patientCreate(t, true)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Deliver(ctx, apptCreate(t, "pat-1", true)); err != nil {
		t.Fatal(err)
	}
	return e
}

// wantStatus checks err against a wanted Solo status (0: no error) and
// that a non-2xx answer arrives classified class.
func wantStatus(t *testing.T, err error, status int, class connectors.Class) {
	t.Helper()
	if status == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var se *StatusError
	if !errors.As(err, &se) || se.Status != status {
		t.Fatalf("error %v, want Solo status %d", err, status)
	}
	if c, _ := connectors.Classify(err); c != class {
		t.Fatalf("class %v, want %v", c, class)
	}
}

// TestEpisodeEndpoints runs each episode call against the simulator,
// including the errors it documents.
func TestEpisodeEndpoints(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	id, err := e.c.CreateEpisode(ctx, "pat-1", []byte(episodeJSON))
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
	}{
		{"create for an unknown patient", func() error { _, err := e.c.CreateEpisode(ctx, "nobody", []byte(episodeJSON)); return err }, 404},
		{"create without a name", func() error {
			_, err := e.c.CreateEpisode(ctx, "pat-1", []byte(`{"type":"covid","from":"2026-03-29","status":"ACTIVE"}`))
			return err
		}, 400},
		{"create with an unknown status", func() error {
			_, err := e.c.CreateEpisode(ctx, "pat-1", []byte(`{"name":"n","type":"covid","from":"2026-03-29","status":"PAUSED"}`))
			return err
		}, 400},
		{"create with a bad date", func() error {
			_, err := e.c.CreateEpisode(ctx, "pat-1", []byte(`{"name":"n","type":"covid","from":"29/03/2026","status":"ACTIVE"}`))
			return err
		}, 400},
		{"update", func() error {
			return e.c.UpdateEpisode(ctx, id, []byte(`{"name":"covid care","type":"covid","from":"2026-03-29","to":"2026-04-02","status":"FINISHED"}`))
		}, 0},
		{"update an unknown episode", func() error { return e.c.UpdateEpisode(ctx, "nope", []byte(episodeJSON)) }, 404},
		{"get", func() error {
			ep, err := e.c.GetEpisode(ctx, id)
			if err == nil && (ep.Status != "finished" || ep.To != "2026-04-02" || ep.ExternalPatientID != "pat-1") {
				t.Errorf("get: %+v", ep)
			}
			return err
		}, 0},
		{"get an unknown episode", func() error { _, err := e.c.GetEpisode(ctx, "nope"); return err }, 404},
		{"list for the patient", func() error {
			eps, err := e.c.ListEpisodes(ctx, "pat-1")
			if err == nil && (len(eps) != 1 || eps[0].ID != id) {
				t.Errorf("list: %+v", eps)
			}
			return err
		}, 0},
		{"list for an unknown patient", func() error { _, err := e.c.ListEpisodes(ctx, "nobody"); return err }, 404},
		{"assign to an appointment", func() error { return e.c.AssignEpisode(ctx, "5001", id) }, 0},
		{"appointments of the episode", func() error {
			ep, appts, err := e.c.EpisodeAppointments(ctx, id)
			if err == nil && (ep.ID != id || len(appts) != 1 || appts[0].AppointmentID.String() != "5001" || appts[0].EpisodeOfCareID != id) {
				t.Errorf("appointments: %+v %+v", ep, appts)
			}
			return err
		}, 0},
		{"appointments of an unknown episode", func() error { _, _, err := e.c.EpisodeAppointments(ctx, "nope"); return err }, 404},
		{"assign an unknown episode", func() error { return e.c.AssignEpisode(ctx, "5001", "nope") }, 404},
		{"assign to an unknown appointment", func() error { return e.c.AssignEpisode(ctx, "9999", id) }, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantStatus(t, tc.call(), tc.status, connectors.Permanent) })
	}
	if got := e.sim.EpisodeOfAppointment(5001); got != id {
		t.Errorf("appointment 5001 is in episode %q, want %q", got, id)
	}
}

func episodeDelivery(t *testing.T, op connectors.Op, vendorID string, fresh bool, js string) connectors.Delivery {
	return connectors.Delivery{Flow: FlowEpisode, Key: "EpisodeOfCare/eoc-1/1", ResourceType: "EpisodeOfCare", ResourceID: "eoc-1",
		Op: op, Body: body(t, js), Parent: "pat-1", VendorID: vendorID, Fresh: fresh}
}

// TestDeliverEpisode: an EpisodeOfCare creates one Solo episode, a retry
// after an attempt that may have reached Solo finds it instead of creating
// a second, and an update goes to the episode by its id.
func TestDeliverEpisode(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	res, err := e.c.Deliver(ctx, episodeDelivery(t, connectors.Create, "", true, episodeJSON))
	if err != nil || res.VendorID == "" {
		t.Fatalf("create: %+v %v", res, err)
	}
	again, err := e.c.Deliver(ctx, episodeDelivery(t, connectors.Create, "", false, episodeJSON))
	if err != nil || again.VendorID != res.VendorID {
		t.Fatalf("retried create: %+v %v, want the id %s", again, err, res.VendorID)
	}
	upd, err := e.c.Deliver(ctx, episodeDelivery(t, connectors.Update, res.VendorID, true,
		`{"name":"covid care","type":"covid","from":"2026-03-29","status":"ONHOLD"}`))
	if err != nil || upd.VendorID != res.VendorID {
		t.Fatalf("update: %+v %v", upd, err)
	}
	eps := e.sim.Episodes()
	if len(eps) != 1 || eps[0].Status != "ONHOLD" || eps[0].PatientID != "pat-1" {
		t.Fatalf("Solo has %+v, want one ONHOLD episode of pat-1", eps)
	}
	for _, tc := range []struct {
		name  string
		d     connectors.Delivery
		class connectors.Class
		is    error
	}{
		{"no patient id yet", func() connectors.Delivery {
			d := episodeDelivery(t, connectors.Create, "", true, episodeJSON)
			d.Parent = ""
			return d
		}(), connectors.Transient, ErrNoParent},
		{"update without the Solo id", episodeDelivery(t, connectors.Update, "", true, episodeJSON), connectors.Permanent, ErrNoVendorID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.Deliver(ctx, tc.d)
			if c, _ := connectors.Classify(err); c != tc.class || !errors.Is(err, tc.is) {
				t.Fatalf("%v (%v), want %v %v", err, c, tc.class, tc.is)
			}
		})
	}
}

// TestDeliverEpisodeAssign: the assignment waits for both Solo ids, then
// assigns the episode to the appointment.
func TestDeliverEpisodeAssign(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	id, err := e.c.CreateEpisode(ctx, "pat-1", []byte(episodeJSON))
	if err != nil {
		t.Fatal(err)
	}
	assign := func(js string) (connectors.Result, error) {
		return e.c.Deliver(ctx, connectors.Delivery{Flow: FlowEpisodeAssign, Key: "Encounter/enc-1/1", ResourceType: "Encounter",
			ResourceID: "enc-1", Op: connectors.Create, Body: body(t, js), Fresh: true})
	}
	_, err = assign(`{"appointment":"appt-1","episode":"eoc-1","appointmentId":"5001"}`)
	if c, _ := connectors.Classify(err); c != connectors.Transient || !errors.Is(err, ErrNotDelivered) {
		t.Fatalf("without the episode's Solo id: %v, want Transient ErrNotDelivered", err)
	}
	before := len(e.sim.Requests())
	if _, err := assign(`{"appointment":"appt-1","episode":"eoc-1","appointmentId":"5001","episodeId":"` + id + `"}`); err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Method != http.MethodPut || reqs[0].Path != "/qapi/v1/appointments/5001/episode/assign" {
		t.Fatalf("requests %+v", reqs)
	}
	if e.sim.EpisodeOfAppointment(5001) != id {
		t.Fatal("the episode was not assigned")
	}
}
