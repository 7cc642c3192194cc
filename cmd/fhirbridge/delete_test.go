package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/bandyer/bandyersim"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// deletePatient is the Patient of the delete tests; its name is the
// canary the log must never carry.
const deletePatient = `{"resourceType":"Patient","id":"pat-d1","identifier":[{"system":"urn:mrn","value":"MRN-DEL-0001"}],
 "name":[{"family":"Borradora","given":["Inés"]}],"gender":"female","birthDate":"1980-02-03"}`

// deleteAppointment is an Appointment of pat-d1 at start, with identifier
// urn:ehr:appt|value and no id (the conditional update finds or makes it).
func deleteAppointment(value string, start time.Time) string {
	return `{"resourceType":"Appointment","identifier":[{"system":"urn:ehr:appt","value":"` + value + `"}],"status":"booked",
 "start":"` + start.UTC().Format(time.RFC3339) + `","end":"` + start.Add(15*time.Minute).UTC().Format(time.RFC3339) + `",
 "participant":[{"actor":{"reference":"Patient/pat-d1"},"status":"accepted"}]}`
}

// soloAppointment returns the simulator's appointment whose external id
// is id.
func soloAppointment(sim *solosim.Sim, id string) (solosim.Appointment, bool) {
	for _, a := range sim.Appointments() {
		if a.ExternalID == id {
			return a, true
		}
	}
	return solosim.Appointment{}, false
}

// TestServeConditionalUpdateAndDeleteAtSolo, through serve with a
// simulated Solo: a conditional PUT by identifier creates the Appointment
// (one appointment at Solo), the same PUT with a new start updates it
// (same id, Solo's date moves), DELETE /fhir/Appointment/{id} makes Solo
// see a cancellation and reads answer 410, a conditional DELETE by
// identifier cancels another one, and deleting the Patient, which no
// flow can express, is dead-lettered. No patient value in the log.
func TestServeConditionalUpdateAndDeleteAtSolo(t *testing.T) {
	b := startBridge(t, "connectors:\n  $SOLO\n"+soloRoutes)
	sim, base := b.Sim, b.Base
	send(t, "PUT", base+"/fhir/Patient/pat-d1", deletePatient, http.StatusCreated)

	start := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	var created struct{ ID string }
	_ = json.Unmarshal([]byte(send(t, "PUT", base+"/fhir/Appointment?identifier=urn:ehr:appt|A-1",
		deleteAppointment("A-1", start), http.StatusCreated)), &created)
	id := created.ID
	if id == "" {
		t.Fatal("the conditional create answered no id")
	}
	b.Wait("the appointment at Solo", func() bool { _, ok := soloAppointment(sim, id); return ok })

	moved := start.Add(time.Hour)
	var updated struct{ ID string }
	_ = json.Unmarshal([]byte(send(t, "PUT", base+"/fhir/Appointment?identifier=urn:ehr:appt|A-1",
		deleteAppointment("A-1", moved), http.StatusOK)), &updated)
	if updated.ID != id {
		t.Fatalf("the conditional update answered id %q, want %q", updated.ID, id)
	}
	b.Wait("the appointment moved at Solo", func() bool {
		a, _ := soloAppointment(sim, id)
		return a.Date == moved.Unix()
	})
	if n := len(sim.Appointments()); n != 1 {
		t.Fatalf("%d appointments at Solo, want 1 (created, then updated)", n)
	}

	send(t, "DELETE", base+"/fhir/Appointment/"+id, "", http.StatusNoContent)
	send(t, "GET", base+"/fhir/Appointment/"+id, "", http.StatusGone)
	b.Wait("the appointment cancelled at Solo", func() bool {
		a, _ := soloAppointment(sim, id)
		return a.Status == "cancelled"
	})
	send(t, "DELETE", base+"/fhir/Appointment/"+id, "", http.StatusNoContent) // a retry changes nothing

	// a second appointment, cancelled by a conditional DELETE
	var second struct{ ID string }
	_ = json.Unmarshal([]byte(send(t, "PUT", base+"/fhir/Appointment?identifier=urn:ehr:appt|A-2",
		deleteAppointment("A-2", start), http.StatusCreated)), &second)
	b.Wait("the second appointment at Solo", func() bool { _, ok := soloAppointment(sim, second.ID); return ok })
	send(t, "DELETE", base+"/fhir/Appointment?identifier=urn:ehr:appt|A-2", "", http.StatusNoContent)
	b.Wait("the second appointment cancelled at Solo", func() bool {
		a, _ := soloAppointment(sim, second.ID)
		return a.Status == "cancelled"
	})
	send(t, "DELETE", base+"/fhir/Appointment?identifier=urn:ehr:appt|A-2", "", http.StatusNoContent) // matches nothing now

	// a Patient's deletion has no vendor form: dead-lettered, not dropped
	send(t, "DELETE", base+"/fhir/Patient/pat-d1", "", http.StatusNoContent)
	b.Wait("the patient's deletion dead-lettered", func() bool {
		out, _, _ := run(t, "", "deliveries", "list", "--config", b.Config)
		return strings.Contains(out, "dlq") && strings.Contains(out, "pat-d1")
	})
	cancels := 0
	for _, r := range sim.Requests() {
		if r.Method == http.MethodPut && strings.HasPrefix(r.Path, "/qapi/v1/appointments/") {
			cancels++
		}
	}
	if cancels < 2 {
		t.Errorf("%d appointment PUTs at Solo, want at least the 2 cancellations", cancels)
	}
	b.Stop()
	b.NoCanary("Borradora", "Inés", "MRN-DEL-0001", "1980-02-03", "k-test")
}

// TestServeDeleteAtBandyer: DELETE /fhir/Appointment/{id} of a delivered
// virtual Appointment sends its Bandyer room to the trash, as a
// cancellation does.
func TestServeDeleteAtBandyer(t *testing.T) {
	b, sim := startBandyer(t, -1)
	start := time.Now().Add(72 * time.Hour).Truncate(time.Minute)
	post(t, b.Base+"/fhir", bandyerBundle(bandyerAppointment(start, "booked", "Patient/pat-1", "Practitioner/dr-1")), http.StatusOK)
	var roomID string
	b.Wait("the room made", func() bool {
		ids, _ := storedAppointment(t, b)
		roomID = ids["urn:fhirbridge:bandyer:roomId"]
		return roomID != ""
	})
	send(t, "DELETE", b.Base+"/fhir/Appointment/appt-b1", "", http.StatusNoContent)
	b.Wait("the room deleted", func() bool {
		r, ok := sim.Room(roomID)
		return ok && r.State == bandyersim.StateTrash
	})
	send(t, "GET", b.Base+"/fhir/Appointment/appt-b1", "", http.StatusGone)
	b.Stop()
	b.NoCanary("Zanetti", "Lucia", bandyersim.DefaultAPIKey)
}
