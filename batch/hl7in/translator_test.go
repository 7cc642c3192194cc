package hl7in

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// TestMappingTranslator runs messages through a declarative mapping
// (input: hl7v2) into the store: AA with the Patient stored, AE naming
// the field of a bad date, AR for an event the mapping's when refuses;
// a mapping of another input is refused at load.
func TestMappingTranslator(t *testing.T) {
	m, err := bridge.LoadMapping("testdata/adt-test.yaml", map[string]string{"zone": "Europe/Rome"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewMappingTranslator(m, mapping.V2Location)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, sqliteURL(t))
	r.h.Translators = map[string]Translator{"ADT": tr}
	tests := []struct {
		name      string
		msg       []byte
		code, loc string
	}{
		{"accepted", adt("A04", "M1", canaryMRN, canaryDOB), "AA", ""},
		{"bad date", adt("A08", "M2", canaryMRN, "1961XX23"), "AE", "PID^1^7^1"},
		{"no identifier", adt("A08", "M3", "", canaryDOB), "AE", "PID^1^3^1^1"},
		{"event not mapped", adt("A40", "M4", canaryMRN, canaryDOB), "AR", "MSH^1^9^1^2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack := r.send(tc.msg)[0]
			if got := field(t, ack, "MSA-1"); got != tc.code {
				t.Fatalf("MSA-1 %q, want %s (ERR-2 %q)", got, tc.code, errLoc(ack))
			}
			if got := errLoc(ack); got != tc.loc {
				t.Errorf("ERR-2 %q, want %q", got, tc.loc)
			}
		})
	}
	p, v := r.patient(canaryMRN)
	if p == nil || v != 1 || p.GetString("birthDate") != "1961-04-23" {
		t.Errorf("stored Patient: version %d, %v", v, p)
	}
	r.noCanary()

	other, err := bridge.LoadMapping("solo/patient", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMappingTranslator(other, nil); err == nil {
		t.Error("a mapping without input: hl7v2 was taken")
	}
}
