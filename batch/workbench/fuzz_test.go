package workbench

import (
	"context"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// FuzzPasted feeds arbitrary pasted text to each kind of mapping (forward,
// reverse json, reverse csv, hl7v2), runs what parses through both
// versions and saves cases of it: nothing may panic, a parsed input
// yields at least one Result, and its saved cases pass casetest.
func FuzzPasted(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Appointment","id":"a1","status":"booked"}`,
		`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Appointment","id":"a1"}}]}`,
		`[{"uid":"u1","last":"x"}]`,
		"APP_LID,STATUS\na1,CANCELLED\n",
		"MSH|^~\\&|A|B|C|D|20261207||ADT^A04|1|P|2.5.1\rPID|1||M1^^^X^MR|||19850312|F\rPV1|1|O\r",
		"\"a\nb",
	} {
		for k := range 4 {
			f.Add(uint8(k), s)
		}
	}
	fwd := pair(f, fwdMapping, fwdMapping, nil)
	js := pair(f, revJSONMapping, revJSONMapping, nil)
	cs := pair(f, revCSVMapping, revCSVMapping, nil)
	v2src, err := shipped.Resolve(nil, "hl7v2/adt-patient")
	if err != nil {
		f.Fatal(err)
	}
	v2M, err := v2src.Load(nil)
	if err != nil {
		f.Fatal(err)
	}
	v2 := &Pair{Source: v2src, Before: v2M, After: v2M}
	pairs := []*Pair{fwd, js, cs, v2}
	f.Fuzz(func(t *testing.T, k uint8, body string) {
		p := pairs[int(k)%len(pairs)]
		in, err := Pasted(p.After, []byte(body))
		if err != nil {
			return
		}
		var chosen []CaseInput
		s, err := Run(context.Background(), p, in, Options{MaxInputs: 50, OnResult: func(r Result) error {
			if len(chosen) < 3 {
				chosen = append(chosen, CaseInput{Input: r.Input})
			}
			return nil
		}})
		if err != nil || s.Inputs == 0 {
			t.Fatalf("a parsed input gave %+v, %v", s, err)
		}
		if p.Source.File != "" && p.Edited == nil {
			return // the shipped pair has no edited text to save cases of
		}
		if _, err := Cases(p, chosen); err != nil {
			t.Fatalf("the cases of a parsed input do not round-trip: %v", err)
		}
	})
}
