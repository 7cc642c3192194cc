package solomod

import (
	"net/http"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// sample is the Solo module's sample for the conformance suite: the
// simulator with its default waiting rooms; a patient and an appointment
// in the Telehealth room, delivered under the patient's Solo id.
func sample() bridge.Sample {
	return bridge.Sample{
		Simulator: func() (*bridge.SimulatorRun, error) {
			sim := solosim.New(solosim.Options{})
			url, err := sim.Start("127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			return &bridge.SimulatorRun{URL: url, Calls: func() int { return changes(sim) }, Stop: func() { _ = sim.Close() }}, nil
		},
		Section: `base_url: "$URL"
api_key: {env: SAMPLE_SOLO_API_KEY}
`,
		Env:      map[string]string{"SAMPLE_SOLO_API_KEY": solosim.DefaultAPIKey},
		WrongEnv: map[string]string{"SAMPLE_SOLO_API_KEY": "CANARY-WRONG-SOLO-API-KEY"},
		Refused:  "FAIL solo: GET /qapi/v1/waiting-rooms: HTTP 401: the Api-Key was refused",
		Routes: `- {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
- {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`,
		Bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:5a3e0c1d-0001-4c1e-8f00-00000000aa01","resource":{"resourceType":"Patient","id":"pat-1","active":true,
   "name":[{"family":"Sample","given":["Patient"]}],"gender":"other","birthDate":"2000-01-01"},"request":{"method":"PUT","url":"Patient/pat-1"}},
 {"resource":{"resourceType":"Appointment","id":"appt-1","status":"booked",
   "start":"2026-12-01T09:00:00Z","end":"2026-12-01T09:15:00Z",
   "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"}]},"request":{"method":"PUT","url":"Appointment/appt-1"}}]}`,
		Delivered: []string{"Patient/pat-1", "Appointment/appt-1"},
	}
}

// changes counts the simulator's answered calls that may change a record
// (every method but GET).
func changes(sim *solosim.Sim) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}
