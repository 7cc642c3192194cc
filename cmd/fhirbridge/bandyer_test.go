package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/bandyer"
	"github.com/fhirbridge/fhirbridge/connectors/bandyer/bandyersim"
)

// bandyerAppointment is a virtual Appointment of pat-1 with dr-1 from start
// for 30 minutes, with status.
func bandyerAppointment(start time.Time, status string, participants ...string) string {
	var ps []string
	for _, p := range participants {
		ps = append(ps, `{"actor":{"reference":"`+p+`"},"status":"accepted"}`)
	}
	return `{"resourceType":"Appointment","id":"appt-b1","status":"` + status + `",
 "serviceType":[{"coding":[{"code":"virtual"}]}],
 "start":"` + start.UTC().Format(time.RFC3339) + `","end":"` + start.Add(30*time.Minute).UTC().Format(time.RFC3339) + `",
 "participant":[` + strings.Join(ps, ",") + `]}`
}

const bandyerPeople = `
 {"resource":{"resourceType":"Patient","id":"pat-1","name":[{"family":"Zanetti","given":["Lucia"]}]},"request":{"method":"PUT","url":"Patient/pat-1"}},
 {"resource":{"resourceType":"Practitioner","id":"dr-1","name":[{"family":"Rossi","given":["Marco"]}]},"request":{"method":"PUT","url":"Practitioner/dr-1"}},`

func bandyerBundle(appt string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` + bandyerPeople + `
 {"resource":` + appt + `,"request":{"method":"PUT","url":"Appointment/appt-b1"}}]}`
}

// startBandyer starts serve with the Bandyer module on a simulator whose
// immutable period is period (negative: none), the bridge's the same.
func startBandyer(t *testing.T, period time.Duration) (*testBridge, *bandyersim.Sim) {
	t.Helper()
	sim := bandyersim.New(bandyersim.Options{ImmutablePeriod: period})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("BANDYER_TEST_KEY", bandyersim.DefaultAPIKey)
	bridgePeriod := "0s"
	if period > 0 {
		bridgePeriod = period.String()
	}
	b := startBridge(t, `connectors:
  bandyer:
    base_url: "`+srv.URL+`"
    api_key: {env: BANDYER_TEST_KEY}
    immutable_period: `+bridgePeriod+`
routes:
  - {name: bandyer-rooms, resource: Appointment, mapping: bandyer/teleconsultation, connector: bandyer, when: "`+bandyer.RecommendedWhen+`"}
`)
	return b, sim
}

// storedAppointment reads appt-b1 from the bridge.
func storedAppointment(t *testing.T, b *testBridge) (ids, exts map[string]string) {
	var res struct {
		Identifier []struct{ System, Value string }
		Extension  []struct{ URL, ValueString string }
	}
	_ = json.Unmarshal([]byte(send(t, "GET", b.Base+"/fhir/Appointment/appt-b1", "", 200)), &res)
	ids, exts = map[string]string{}, map[string]string{}
	for _, i := range res.Identifier {
		ids[i.System] = i.Value
	}
	for _, e := range res.Extension {
		exts[e.URL] = e.ValueString
	}
	return ids, exts
}

// TestServeBandyer: a transaction Bundle with a Patient, a Practitioner
// and a virtual Appointment makes one room; the stored Appointment gets
// the roomId and both participants' access links; moving the start
// PATCHes the room; the same Bundle again changes nothing; cancelling
// deletes the room. No patient name in the log.
func TestServeBandyer(t *testing.T) {
	b, sim := startBandyer(t, -1)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(start, "booked", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	var roomID string
	b.Wait("the roomId and both access links on the Appointment", func() bool {
		ids, exts := storedAppointment(t, b)
		roomID = ids["urn:fhirbridge:bandyer:roomId"]
		return roomID != "" && exts["urn:fhirbridge:bandyer:Patient/pat-1:accessLinkURL"] != "" &&
			exts["urn:fhirbridge:bandyer:Practitioner/dr-1:accessLinkURL"] != ""
	})
	rooms := sim.Rooms()
	if len(rooms) != 1 || rooms[0].ID != roomID || rooms[0].BandyerRoomID == "" || len(rooms[0].Participants) != 2 {
		t.Fatalf("rooms at the simulator: %+v (want one, %s)", rooms, roomID)
	}
	first := rooms[0].BandyerRoomID

	// move the start: PATCH, a new Bandyer room under the same roomId
	moved := start.Add(time.Hour)
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(moved, "booked", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	b.Wait("the room moved", func() bool {
		r, ok := sim.Room(roomID)
		return ok && r.Start.Equal(moved) && r.BandyerRoomID != first
	})
	patches := 0
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPatch {
			patches++
		}
	}
	if patches != 1 {
		t.Errorf("%d PATCH calls, want 1", patches)
	}

	// the same Bundle again: nothing new reaches the backend (once the
	// move's delivery, links included, is done)
	b.Wait("every delivery done", func() bool {
		out, _, _ := run(t, "", "deliveries", "list", "--config", b.Config)
		return !strings.Contains(out, "pending") && !strings.Contains(out, "in_flight")
	})
	calls := len(sim.Requests())
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(moved, "booked", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	time.Sleep(500 * time.Millisecond)
	if n := len(sim.Requests()); n != calls {
		t.Errorf("the same Bundle again made %d calls to the backend", n-calls)
	}

	// cancel: the room goes to TRASH
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(moved, "cancelled", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	b.Wait("the room deleted", func() bool {
		r, ok := sim.Room(roomID)
		return ok && r.State == bandyersim.StateTrash
	})
	if n := len(sim.Rooms()); n != 1 {
		t.Errorf("%d rooms, want the one", n)
	}
	b.Stop()
	b.NoCanary("Zanetti", "Lucia", bandyersim.DefaultAPIKey)
}

// TestServeBandyerRules: an Appointment with no participant in a plus
// group is refused when posted (422 naming the participants), and a
// change to a room inside the immutable period is not sent: it is
// dead-lettered with that reason.
func TestServeBandyerRules(t *testing.T) {
	b, sim := startBandyer(t, 2*time.Hour)

	// no doctor: no plus user in the room
	out := post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(time.Now().Add(3*time.Hour), "booked", "Patient/pat-1")), http.StatusUnprocessableEntity)
	if !strings.Contains(out, "Appointment.participant") || !strings.Contains(strings.ToLower(out), "plus") {
		t.Errorf("refusal without a plus user:\n%s", out)
	}
	if n := len(sim.Rooms()); n != 0 {
		t.Fatalf("%d rooms after a refusal", n)
	}

	// created 1 h ahead, inside the 2 h period (creating is not a change),
	// then moved: the room can no longer change, so the move is not sent
	inside := time.Now().Add(time.Hour).Truncate(time.Minute)
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(inside, "booked", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	b.Wait("the room", func() bool { return len(sim.Rooms()) == 1 && sim.Rooms()[0].BandyerRoomID != "" })
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(inside.Add(30*time.Minute), "booked", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	b.Wait("the dead letter of the immutable change", func() bool {
		out, _, _ := run(t, "", "deliveries", "show", "2", "--config", b.Config)
		return strings.Contains(out, "state:      dlq") && strings.Contains(out, "immutable period")
	})
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPatch {
			t.Errorf("a change inside the immutable period reached the backend: %s %s", r.Method, r.Path)
		}
	}
	b.Stop()
	b.NoCanary("Zanetti", "Lucia")
}
