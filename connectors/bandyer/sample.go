package bandyer

import (
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/bandyer/bandyersim"
)

// sample is the Bandyer module's sample for the conformance suite: the
// simulator, a Patient, a Practitioner and a virtual Appointment far
// enough ahead to be outside any immutable period.
func sample() bridge.Sample {
	return bridge.Sample{
		Simulator: func() (*bridge.SimulatorRun, error) {
			sim := bandyersim.New(bandyersim.Options{ImmutablePeriod: -1})
			url, err := sim.Start("127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			return &bridge.SimulatorRun{URL: url, Calls: func() int { return len(sim.Requests()) }, Stop: func() { _ = sim.Close() }}, nil
		},
		Section: `base_url: "$URL"
api_key: {env: SAMPLE_BANDYER_KEY}
`,
		Env:      map[string]string{"SAMPLE_BANDYER_KEY": bandyersim.DefaultAPIKey},
		WrongEnv: map[string]string{"SAMPLE_BANDYER_KEY": "CANARY-WRONG-BANDYER-KEY"},
		Refused:  "HTTP 401",
		Routes:   "- {name: bandyer-rooms, resource: Appointment, mapping: bandyer/teleconsultation, connector: bandyer, when: \"" + RecommendedWhen + "\"}\n",
		Bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"pat-1","name":[{"family":"Sample","given":["Patient"]}]},"request":{"method":"PUT","url":"Patient/pat-1"}},
 {"resource":{"resourceType":"Practitioner","id":"dr-1","name":[{"family":"Sample","given":["Doctor"]}]},"request":{"method":"PUT","url":"Practitioner/dr-1"}},
 {"resource":{"resourceType":"Appointment","id":"appt-1","status":"booked",
   "serviceType":[{"coding":[{"code":"virtual"}]}],
   "start":"2099-01-05T09:00:00Z","end":"2099-01-05T09:30:00Z",
   "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"},{"actor":{"reference":"Practitioner/dr-1"},"status":"accepted"}]},
  "request":{"method":"PUT","url":"Appointment/appt-1"}}]}`,
		Delivered: []string{"Appointment/appt-1"},
		IDName:    IDName,
	}
}
