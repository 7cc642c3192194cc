package solomod

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

func FuzzLinkPatientFrom(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"p","gender":"male","birthDate":"2000-01-01","name":[{"family":"F","given":["G"]}]}`))
	f.Add([]byte(`{"resourceType":"Patient","name":[{"given":[1]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := linkPatientFrom(data)
		if err != nil {
			return
		}
		_ = solo.LinkContext{User: "u", Type: "patient", Visit: "v", Date: 1, Patient: p}.Validate()
	})
}

func FuzzParseLinkDate(f *testing.F) {
	for _, s := range []string{"1714554000", "2024-05-01T09:00:00Z", "2024-05-01T09:00:00+02:00", "-1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseLinkDate(s); err == nil && d <= 0 {
			t.Fatalf("%q: accepted as %d", s, d)
		}
	})
}
