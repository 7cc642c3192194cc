package workbench

import (
	"testing"
	"testing/fstest"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// fwdMapping is a forward mapping that resolves the Patient of an
// Appointment from the store.
const fwdMapping = `name: t/appt
version: 1
source: Appointment
params:
  room: {default: General}
fields:
  - target: APP_LID
    from: id
    required: true
  - target: STATUS
    from: status
  - target: FAMILY
    from: "participant.actor.resolve().ofType(Patient).name.first().family"
  - target: ROOM
    from: "%room"
`

// revCSVMapping is a reverse csv mapping.
const revCSVMapping = `name: t/cancel
version: 1
direction: reverse
source: row
resource: Appointment
input: csv
columns: [APP_LID, STATUS]
fields:
  - target: id
    from: APP_LID
    required: true
  - target: status
    from: STATUS
    required: true
    transform:
      - lookup:
          table: {CANCELLED: cancelled, APPROVED: booked}
          missing: refuse
`

// revJSONMapping is a reverse json mapping.
const revJSONMapping = `name: t/user
version: 1
direction: reverse
source: user
resource: Patient
fields:
  - target: id
    from: uid
    required: true
  - target: name[0].family
    from: last
`

// src returns a file Source holding text as m.yaml.
func src(t testing.TB, text string) shipped.Source {
	t.Helper()
	return shipped.Source{FS: fstest.MapFS{"m.yaml": {Data: []byte(text)}}, File: "m.yaml", Path: "m.yaml"}
}

// pair loads text and its edit, failing the test on error.
func pair(t testing.TB, text, edited string, params map[string]string) *Pair {
	t.Helper()
	p, err := Load(src(t, text), params, []byte(edited))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// val decodes JSON, failing the test on error.
func val(t testing.TB, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
