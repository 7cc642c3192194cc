package tyto

import (
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
)

// sample is the Tyto module's sample for the conformance suite: one
// tenant on the simulator; a clinician, a station and a virtual visit.
func sample() bridge.Sample {
	return bridge.Sample{
		Simulator: func() (*bridge.SimulatorRun, error) {
			sim := tytosim.New(tytosim.Options{})
			url, err := sim.Start("127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			return &bridge.SimulatorRun{URL: url, Calls: func() int { return len(sim.Order()) }, Stop: func() { _ = sim.Close() }}, nil
		},
		Section: `tenants:
  main: {portal_url: "$URL", username: ` + tytosim.DefaultUsername + `, password: {env: SAMPLE_TYTO_PASSWORD}}
`,
		Env:      map[string]string{"SAMPLE_TYTO_PASSWORD": tytosim.DefaultPassword},
		WrongEnv: map[string]string{"SAMPLE_TYTO_PASSWORD": "CANARY-WRONG-TYTO-PASSWORD"},
		Refused:  "HTTP 401: username/password incorrect",
		Routes: `- {name: tyto-clinicians, resource: Practitioner, mapping: tyto/clinician, connector: tyto}
- {name: tyto-stations, resource: Location, mapping: tyto/station, connector: tyto}
- {name: tyto-visits, resource: Encounter, mapping: tyto/visit, connector: tyto, when: "class.code = 'VR'"}
`,
		Bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Practitioner","id":"dr-1","name":[{"family":"Sample","given":["Clinician"]}]},"request":{"method":"PUT","url":"Practitioner/dr-1"}},
 {"resource":{"resourceType":"Location","id":"st-1","name":"Exam room 1"},"request":{"method":"PUT","url":"Location/st-1"}},
 {"resource":{"resourceType":"Encounter","id":"enc-1","status":"planned",
   "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"VR"},
   "participant":[{"individual":{"reference":"Practitioner/dr-1"}}],
   "location":[{"location":{"reference":"Location/st-1"}}],
   "period":{"start":"2026-12-01T09:00:00Z"}},"request":{"method":"PUT","url":"Encounter/enc-1"}}]}`,
		Delivered: []string{"Encounter/enc-1"},
	}
}
