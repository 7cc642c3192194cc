package main

import (
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

// referenceRoutes feed Patients, Appointments and EpisodeOfCares to Solo;
// the appointments of the Teleconsult service type go through a route that
// awaits their Patient for 300ms.
const referenceRoutes = `
connectors:
  $SOLO
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, when: "serviceType.exists().not()", params: {waiting_room: Telehealth}}
  - {name: solo-awaiting, resource: Appointment, mapping: solo/appointment, connector: solo, when: "serviceType.exists()", reference_wait: 300ms, params: {waiting_room: Telehealth}}
  - {name: solo-episodes, resource: EpisodeOfCare, mapping: solo/episode, connector: solo}
`

const refPatient = `{"resourceType":"Patient","id":"pat-r1","name":[{"family":"Canaryson","given":["Tweety"]}],"gender":"female","birthDate":"1980-01-02"}`

func refAppointment(id, patient, extra string) string {
	return `{"resourceType":"Appointment","id":"` + id + `","status":"booked",` + extra + `"start":"2026-12-01T08:30:00Z","end":"2026-12-01T08:45:00Z",
	 "participant":[{"actor":{"reference":"Practitioner/dr-1"},"status":"accepted"},{"actor":{"reference":"Patient/` + patient + `"},"status":"accepted"}]}`
}

// TestUnresolvableReferencesRefusedAtIntake: an Appointment whose Patient
// is neither in the Bundle nor stored is refused with 422 naming the
// element path of the reference, and nothing is stored; a Patient later in
// the same Bundle resolves. An EpisodeOfCare without the type Solo
// requires is refused with 422 at once instead of being dead-lettered.
func TestUnresolvableReferencesRefusedAtIntake(t *testing.T) {
	b := startBridge(t, referenceRoutes)
	out := post(t, b.Base+"/fhir", transaction(entry("Appointment", "appt-r1", refAppointment("appt-r1", "pat-missing", ""))), 422)
	for _, want := range []string{"Appointment.participant[1].actor", "Patient/pat-missing", "not-found"} {
		if !strings.Contains(out, want) {
			t.Errorf("the outcome lacks %q:\n%s", want, out)
		}
	}
	send(t, "GET", b.Base+"/fhir/Appointment/appt-r1", "", 404)

	// the Patient after the Appointment in one Bundle: accepted, delivered
	post(t, b.Base+"/fhir", transaction(entry("Appointment", "appt-r2", refAppointment("appt-r2", "pat-r1", "")),
		entry("Patient", "pat-r1", refPatient)), 200)
	b.Wait("the appointment at Solo", func() bool { return len(b.Sim.Appointments()) == 1 })

	episode := `{"resourceType":"EpisodeOfCare","id":"eoc-r1","status":"active","patient":{"reference":"Patient/pat-r1"},"period":{"start":"2026-11-30"}}`
	out = post(t, b.Base+"/fhir", transaction(entry("EpisodeOfCare", "eoc-r1", episode)), 422)
	for _, want := range []string{"EpisodeOfCare.type.coding.code", "solo/episode", "field type"} {
		if !strings.Contains(out, want) {
			t.Errorf("the outcome lacks %q:\n%s", want, out)
		}
	}
	send(t, "GET", b.Base+"/fhir/EpisodeOfCare/eoc-r1", "", 404)
	for _, j := range jobs(t, b) {
		if j.State == delivery.StateDeadLetter {
			t.Errorf("job %s %s/%s dead-lettered: %s", j.Flow, j.ResourceType, j.ResourceID, j.LastError)
		}
	}
	if strings.Contains(out, "Canaryson") {
		t.Errorf("the outcome quotes a patient value:\n%s", out)
	}
	b.Stop()
	b.NoCanary("Canaryson")
}

// TestAwaitedReferenceDeadLettersAfterBound: a route with reference_wait
// accepts an Appointment whose Patient is not stored; when the Patient
// never comes, the job is dead-lettered after the bound with a reason
// naming the reference that never arrived.
func TestAwaitedReferenceDeadLettersAfterBound(t *testing.T) {
	b := startBridge(t, referenceRoutes)
	post(t, b.Base+"/fhir", transaction(entry("Appointment", "appt-w1",
		refAppointment("appt-w1", "pat-late", `"serviceType":[{"text":"Teleconsult"}],`))), 200)
	var reason string
	b.Wait("the awaiting job dead-lettered", func() bool {
		for _, j := range jobs(t, b) {
			if j.Flow == "solo-awaiting" && j.State == delivery.StateDeadLetter {
				reason = j.LastError
				return true
			}
		}
		return false
	})
	for _, want := range []string{"Patient/pat-late", "Appointment.participant[1].actor", "never arrived"} {
		if !strings.Contains(reason, want) {
			t.Errorf("dead-letter reason %q lacks %q", reason, want)
		}
	}
	if n := len(b.Sim.Appointments()); n != 0 {
		t.Errorf("%d appointments at Solo", n)
	}
}
