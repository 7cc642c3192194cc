package vsee

import (
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors/vsee/vseesim"
)

// sample is the VSee module's sample for the conformance suite: the
// simulator (which also plays the portal), a Patient and a scheduled
// virtual Appointment with a practitioner.
func sample() bridge.Sample {
	return bridge.Sample{
		Simulator: func() (*bridge.SimulatorRun, error) {
			sim := vseesim.New(vseesim.Options{})
			url, err := sim.Start("127.0.0.1:0")
			if err != nil {
				return nil, err
			}
			return &bridge.SimulatorRun{URL: url, Calls: func() int { return len(sim.Requests()) }, Stop: func() { _ = sim.Close() },
				Vars: map[string]string{"$PORTAL": sim.PortalURL()}}, nil
		},
		Section: `base_url: "$URL"
portal_base_url: "$PORTAL"
api_key: {env: SAMPLE_VSEE_KEY}
api_secret: {env: SAMPLE_VSEE_SECRET}
`,
		Env:      map[string]string{"SAMPLE_VSEE_KEY": vseesim.DefaultAPIKey, "SAMPLE_VSEE_SECRET": vseesim.DefaultSecret},
		WrongEnv: map[string]string{"SAMPLE_VSEE_KEY": "CANARY-WRONG-VSEE-KEY", "SAMPLE_VSEE_SECRET": "CANARY-WRONG-VSEE-SECRET"},
		Refused:  "HTTP 401",
		Routes: `- {name: vsee-users, resource: Patient, mapping: vsee/user, connector: vsee}
- {name: vsee-visits, resource: Appointment, mapping: vsee/visit, connector: vsee, when: "` + WalkinWhen + `.not()"}
`,
		Bundle: `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"pat-1","name":[{"family":"Sample","given":["Patient"]}],"birthDate":"1980-02-01"},"request":{"method":"PUT","url":"Patient/pat-1"}},
 {"resource":{"resourceType":"Practitioner","id":"dr-1","identifier":[{"system":"urn:vsee:provider","value":"prov-1"}],"name":[{"family":"Sample"}]},"request":{"method":"PUT","url":"Practitioner/dr-1"}},
 {"resource":{"resourceType":"Appointment","id":"appt-1","status":"booked","start":"2099-01-05T09:00:00Z","end":"2099-01-05T09:30:00Z",
   "participant":[{"actor":{"reference":"Patient/pat-1"},"status":"accepted"},{"actor":{"reference":"Practitioner/dr-1"},"status":"accepted"}]},
  "request":{"method":"PUT","url":"Appointment/appt-1"}}]}`,
		Delivered: []string{"Patient/pat-1"},
	}
}
