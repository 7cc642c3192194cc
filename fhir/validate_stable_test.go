package fhir

import (
	"io/fs"
	"testing"

	"github.com/fhirbridge/fhirbridge/fixtures"
)

// TestValidateStable: google/fhir walks JSON objects in map order, and
// reports a primitive array and its "_" extension array of different
// lengths at whichever of the two it read second. Validate must still
// say the same thing on every run, or the endpoint's $validate and
// `fhirbridge validate` could disagree on the same bytes.
func TestValidateStable(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"extensions shorter than values",
			`{"resourceType":"Patient","name":[{"given":[null,"B"],"_given":[{"extension":[{"url":"http://example.org/x","valueString":"a"}]}]}]}`,
			"Patient.name[0].given: primitive value and extension arrays differ in length"},
		{"values shorter than extensions",
			`{"resourceType":"Patient","name":[{"given":["A"],"_given":[null,{"id":"x"}]}]}`,
			"Patient.name[0].given: primitive value and extension arrays differ in length"},
		{"with another problem",
			`{"resourceType":"Patient","colour":1,"name":[{"given":["A","B"],"_given":[null]}]}`,
			"Patient.colour: unknown element\nPatient.name[0].given: primitive value and extension arrays differ in length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 200; i++ {
				v, err := DecodeString(tt.body, DecodeOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := Validate(v, "").Error(); got != tt.want {
					t.Fatalf("run %d:\n got %s\nwant %s", i, got, tt.want)
				}
			}
		})
	}
}

// TestValidateStableFixtures validates every shipped R4 example many
// times: each gives one outcome.
func TestValidateStableFixtures(t *testing.T) {
	files, err := fs.Glob(fixtures.R4, "r4/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no R4 examples: %v", err)
	}
	for _, f := range files {
		data, err := fs.ReadFile(fixtures.R4, f)
		if err != nil {
			t.Fatal(err)
		}
		first := ""
		for i := 0; i < 10; i++ {
			v, err := Decode(data, DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			v.Set("colour", NewNumber("1"))
			got := Validate(v, "").Error()
			if i == 0 {
				first = got
			} else if got != first {
				t.Fatalf("%s: run %d:\n got %s\nwant %s", f, i, got, first)
			}
		}
	}
}
