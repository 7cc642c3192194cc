package bandyer

import (
	"os"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

func TestRecommendedWhen(t *testing.T) {
	e, err := fhirpath.Compile(RecommendedWhen, fhirpath.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`{"resourceType":"Appointment","extension":[{"url":"http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService","valueString":"x"}]}`, true},
		{`{"resourceType":"Appointment","serviceType":[{"coding":[{"code":"virtual"}]}]}`, true},
		{`{"resourceType":"Appointment","serviceType":[{"coding":[{"code":"124"}]}]}`, false},
	} {
		v, err := fhir.Decode([]byte(tc.json), fhir.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := e.Eval(&fhirpath.Env{Resource: v}, fhirpath.Collection{fhirpath.ItemOf(v)})
		if err != nil {
			t.Fatal(err)
		}
		var got bool
		if len(out) == 1 {
			got, _ = out[0].AsBool()
		}
		if got != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.json, got, out, tc.want)
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), `when: "`+RecommendedWhen+`"`) {
		t.Error("the README's Bandyer route does not show RecommendedWhen")
	}
}
