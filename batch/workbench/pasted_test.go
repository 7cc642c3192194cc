package workbench

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// refs runs in and returns the inputs' refs.
func refs(t *testing.T, in Inputs) []string {
	t.Helper()
	var out []string
	err := in(context.Background(), func(x Input) error { out = append(out, x.Ref); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPasted(t *testing.T) {
	fwd := pair(t, fwdMapping, fwdMapping, nil).After
	csvM := pair(t, revCSVMapping, revCSVMapping, nil).After
	jsonM := pair(t, revJSONMapping, revJSONMapping, nil).After
	v2src, err := shipped.Resolve(nil, "hl7v2/adt-patient")
	if err != nil {
		t.Fatal(err)
	}
	v2M, err := v2src.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *mapping.Mapping
		body string
		want string // refs joined by spaces, or the error substring after "!"
	}{
		{"forward resource", fwd, `{"resourceType":"Appointment","id":"a1"}`, "pasted"},
		{"forward Bundle", fwd, `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}},{"resource":{"resourceType":"Appointment","id":"a1"}},{"resource":{"resourceType":"Appointment","id":"a2"}}]}`, "pasted entry[1] pasted entry[2]"},
		{"forward Bundle without the type", fwd, `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p1"}}]}`, "!the Bundle has no Appointment entry"},
		{"forward other type", fwd, `{"resourceType":"Patient","id":"p1"}`, "!a Patient; the mapping reads Appointment"},
		{"forward odd type", fwd, `{"resourceType":"<b>","id":"p1"}`, "!a resource; the mapping reads"},
		{"forward not a resource", fwd, `[1,2]`, "!no resourceType"},
		{"forward bad JSON", fwd, `{"resourceType":"Appointment",`, "!line 1 col"},
		{"empty", fwd, "  \n", "!empty"},
		{"too large", fwd, strings.Repeat(" ", MaxPaste+1) + "{}", "!over the"},
		{"json record", jsonM, `{"uid":"u1"}`, "pasted"},
		{"json records", jsonM, `[{"uid":"u1"},{"uid":"u2"}]`, "pasted[0] pasted[1]"},
		{"json list with a number", jsonM, `[{"uid":"u1"},2]`, "!item [1] is a number"},
		{"json string", jsonM, `"x"`, "!a string, not a record"},
		{"csv rows", csvM, "APP_LID,STATUS\na1,CANCELLED\na2,APPROVED\n", "pasted row 2 pasted row 3"},
		{"csv missing column", csvM, "APP_LID\na1\n", `!missing column "STATUS"`},
		{"csv ragged row", csvM, "APP_LID,STATUS\na1\n", "!line 2 column"},
		{"csv header only", csvM, "APP_LID,STATUS\n", "!nothing the mapping reads"},
		{"hl7v2 message", v2M, "MSH|^~\\&|A|B|C|D|20261207||ADT^A04|1|P|2.5.1\nPID|1||M1^^^X^MR\n", "pasted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := Pasted(tc.m, []byte(tc.body))
			if want, isErr := strings.CutPrefix(tc.want, "!"); isErr {
				if err == nil || !errors.Is(err, ErrPaste) || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want %q wrapping ErrPaste", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(refs(t, in), " "); got != tc.want {
				t.Fatalf("refs %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCasesReverseAndV2(t *testing.T) {
	t.Run("csv, with an error case", func(t *testing.T) {
		edited := strings.Replace(revCSVMapping, "APPROVED: booked", "APPROVED: booked, PENDING: pending", 1)
		p := pair(t, revCSVMapping, edited, nil)
		in, err := Pasted(p.After, []byte("APP_LID,STATUS\na1,PENDING\na2,WHATEVER\n"))
		if err != nil {
			t.Fatal(err)
		}
		var chosen []CaseInput
		s, err := Run(context.Background(), p, in, Options{OnResult: func(r Result) error {
			chosen = append(chosen, CaseInput{Name: "row " + r.Input.Ref, Input: r.Input})
			return nil
		}})
		if err != nil || s.Fixed != 1 || s.BothError != 1 {
			t.Fatalf("%+v %v", s, err)
		}
		text, err := Cases(p, chosen)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), "    error: ") || !strings.Contains(string(text), `"status":"pending"`) {
			t.Fatalf("cases:\n%s", text)
		}
		checkCases(t, p, text, 2)
	})
	t.Run("hl7v2 shipped mapping with params and lookup files", func(t *testing.T) {
		s, err := shipped.Resolve(nil, "hl7v2/adt-patient")
		if err != nil {
			t.Fatal(err)
		}
		text, err := fs.ReadFile(s.FS, s.File)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Load(s, nil, text)
		if err != nil {
			t.Fatal(err)
		}
		msg := "MSH|^~\\&|ADTSYS|NORTHCLINIC|FHIRBRIDGE|TELECARE|20261207081500||ADT^A04^ADT_A01|ADT1|P|2.5.1\r" +
			"PID|1||MRN-1^^^NORTHCLINIC&2.16.840.1.113883.3.9999.1&ISO^MR||Testperson^Alba||19850312|F\r" +
			"PV1|1|O|||||||||||||||||V-1^^^NORTHCLINIC&2.16.840.1.113883.3.9999.3&ISO^VN\r"
		in, err := Pasted(p.After, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		var chosen []CaseInput
		if _, err := Run(context.Background(), p, in, Options{OnResult: func(r Result) error {
			if r.AfterErr != nil {
				t.Fatalf("the message does not map: %v", r.AfterErr)
			}
			chosen = append(chosen, CaseInput{Input: r.Input})
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		cases, err := Cases(p, chosen)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(cases), "    input: |\n      MSH|") {
			t.Fatalf("the message is not a literal block:\n%s", cases)
		}
		checkCases(t, p, cases, 1)
	})
	t.Run("none chosen", func(t *testing.T) {
		if _, err := Cases(pair(t, revJSONMapping, revJSONMapping, nil), nil); err == nil {
			t.Fatal("want an error")
		}
	})
	t.Run("json with odd strings and a parameter", func(t *testing.T) {
		p := pair(t, fwdMapping, fwdMapping, map[string]string{"room": "Sala \"3\" #a: b"})
		x := Input{Ref: "pasted", Value: val(t, `{"resourceType":"Appointment","id":"a1","status":"bo\u00f1ked: #x\n'y'","comment":"\u2028"}`)}
		text, err := Cases(p, []CaseInput{{Name: "a: \"quoted\" # name", Input: x}})
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		checkCases(t, p, text, 1)
	})
}
