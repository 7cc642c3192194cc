package workbench

import (
	"context"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// canary stands for a patient value: no error may quote it.
const canary = "Zqcanary4711"

// TestNoInputValueInErrors feeds inputs holding the canary to every step
// that can fail on them and checks that no error and no summary key
// quotes it.
func TestNoInputValueInErrors(t *testing.T) {
	var texts []string
	keep := func(err error) {
		if err != nil {
			texts = append(texts, err.Error())
		}
	}
	strict := strings.Replace(fwdMapping, "  - target: STATUS\n    from: status\n",
		"  - target: STATUS\n    from: status\n    transform:\n      - lookup:\n          table: {booked: B}\n          missing: refuse\n"+
			"  - target: START\n    from: start\n    transform:\n      - truncate: {max: 3, overflow: refuse}\n", 1)
	p := pair(t, fwdMapping, strict, nil)
	for _, body := range []string{
		`{"resourceType":"Appointment","id":"a1","status":"` + canary + `","start":"` + canary + `"}`,
		`{"resourceType":"Appointment","id":"a1","status":"booked","` + canary + `":1}`,
		`{"resourceType":"Appointment","id":"` + canary + `","status":"` + canary + `",}`,
		`{"resourceType":"` + canary + `"}`,
		`{"resourceType":"Appointment","id":"a1","status":"` + canary + "\x01" + `"}`,
	} {
		in, err := Pasted(p.After, []byte(body))
		keep(err)
		if err != nil {
			continue
		}
		s, err := Run(context.Background(), p, in, Options{OnResult: func(r Result) error {
			keep(r.BeforeErr)
			keep(r.AfterErr)
			return nil
		}})
		keep(err)
		for k := range s.Errors {
			texts = append(texts, k)
		}
		for k := range s.Fields {
			texts = append(texts, k)
		}
	}
	csvP := pair(t, revCSVMapping, revCSVMapping, nil)
	for _, body := range []string{
		"APP_LID,STATUS\n" + canary + "," + canary + "\n",
		"APP_LID,STATUS\n\"" + canary + "\"x," + canary + "\n",
		"APP_LID," + canary + "\na,b\n",
		"APP_LID,STATUS\n" + canary + "\n",
	} {
		in, err := Pasted(csvP.After, []byte(body))
		keep(err)
		if err == nil {
			_, err = Run(context.Background(), csvP, in, Options{OnResult: func(r Result) error {
				keep(r.BeforeErr)
				keep(r.AfterErr)
				return nil
			}})
			keep(err)
		}
	}
	v2src, err := shipped.Resolve(nil, "hl7v2/adt-patient")
	if err != nil {
		t.Fatal(err)
	}
	v2M, err := v2src.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	v2P := &Pair{Source: v2src, Before: v2M, After: v2M}
	for _, body := range []string{
		canary + "|x",
		"MSH|^~\\&|A|B|C|D|20261207||ADT^A04|1|P|2.5.1\rPID|1||" + canary + "^^^X^MR||" + canary + "||" + canary + "|" + canary + "\r",
		"MSH|^~\\&|A|B|C|D|" + canary + "||ADT^A04|1|P|2.5.1\rPID|1||M1^^^X^MR|||19850312|F\rPV1|1|" + canary + "\r",
	} {
		in, err := Pasted(v2M, []byte(body))
		keep(err)
		if err == nil {
			_, err = Run(context.Background(), v2P, in, Options{OnResult: func(r Result) error {
				keep(r.AfterErr)
				return nil
			}})
			keep(err)
		}
	}
	if len(texts) < 8 {
		t.Fatalf("only %d errors seen; the test no longer exercises the failures: %q", len(texts), texts)
	}
	for _, s := range texts {
		if strings.Contains(s, canary) {
			t.Errorf("an error quotes an input value: %q", s)
		}
	}
}
