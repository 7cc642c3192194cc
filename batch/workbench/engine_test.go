package workbench

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name, edited string
		line, col    int    // of the LoadError, 0 when none is expected
		want         string // substring of the error, "" for success
	}{
		{name: "same text", edited: fwdMapping},
		{name: "bad expression", edited: strings.Replace(fwdMapping, "from: status", "from: \"status.where(\"", 1), line: 11, col: 25, want: "edited mapping"},
		{name: "bad YAML", edited: "name: [\n", line: 1, col: 7, want: "edited mapping"},
		{name: "unknown key", edited: fwdMapping + "colour: red\n", line: 16, col: 1, want: "edited mapping"},
		{name: "source changed", edited: "name: t/appt\nversion: 1\nsource: Slot\nfields:\n  - target: A\n    from: id\n", want: `source changed from "Appointment" to "Slot"`},
		{name: "direction changed", edited: revJSONMapping, want: "direction changed"},
		{name: "too large", edited: strings.Repeat("#", MaxMappingText+1), want: "over the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(src(t, fwdMapping), nil, []byte(tc.edited))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrEdited) {
				t.Fatalf("err = %v, want %q wrapping ErrEdited", err, tc.want)
			}
			var le *mapping.LoadError
			if tc.line > 0 {
				if !errors.As(err, &le) || le.Line != tc.line || tc.col > 0 && le.Col != tc.col {
					t.Fatalf("err = %v, want a LoadError at line %d col %d", err, tc.line, tc.col)
				}
			}
		})
	}
	t.Run("the current mapping does not load", func(t *testing.T) {
		_, err := Load(src(t, fwdMapping), map[string]string{"nope": "x"}, []byte(fwdMapping))
		if err == nil || errors.Is(err, ErrEdited) || !strings.Contains(err.Error(), "unknown parameter") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("shipped mapping with its lookup files", func(t *testing.T) {
		s, err := shipped.Resolve(nil, "hl7v2/adt-patient")
		if err != nil {
			t.Fatal(err)
		}
		text, _ := s.FS.(interface{ ReadFile(string) ([]byte, error) }).ReadFile(s.File)
		if _, err := Load(s, nil, text); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCompare(t *testing.T) {
	appt := `{"resourceType":"Appointment","id":"a1","status":"booked"}`
	noID := `{"resourceType":"Appointment","status":"booked"}`
	for _, tc := range []struct {
		name, edited, input string
		outcome             Outcome
		changes             []string // Path kind
	}{
		{"same", fwdMapping, appt, Same, nil},
		{"value changed", strings.Replace(fwdMapping, "from: status", "from: \"status.upper()\"", 1), appt, Changed, []string{"[0].STATUS changed"}},
		{"field added", fwdMapping + "  - target: KIND\n    value: appt\n", appt, Changed, []string{"[0].KIND added"}},
		{"field removed", strings.Replace(fwdMapping, "  - target: ROOM\n    from: \"%room\"\n", "", 1), appt, Changed, []string{"[0].ROOM removed"}},
		{"new error", strings.Replace(fwdMapping, "from: status", "from: status\n    required: true\n", 1), `{"resourceType":"Appointment","id":"a1"}`, NewError, nil},
		{"fixed", strings.Replace(fwdMapping, "    required: true\n", "", 1), noID, Fixed, nil},
		{"both fail", fwdMapping, noID, BothError, nil},
		{"when excludes after the edit", strings.Replace(fwdMapping, "source: Appointment\n", "source: Appointment\nwhen: \"status = 'cancelled'\"\n", 1), appt, Changed, []string{"[0] removed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pair(t, fwdMapping, tc.edited, nil)
			r := Compare(p, Input{Ref: "x", Value: val(t, tc.input)})
			if r.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s (before %v, after %v)", r.Outcome, tc.outcome, r.BeforeErr, r.AfterErr)
			}
			var got []string
			for _, c := range r.Changes {
				got = append(got, c.Path+" "+c.Kind())
			}
			if !reflect.DeepEqual(got, tc.changes) {
				t.Fatalf("changes %q, want %q", got, tc.changes)
			}
		})
	}
}

func TestDiffField(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{`[{"A":1}]`, `[{"A":1.0}]`, ""},
		{`[{"A":"x","B":{"c":[1,2]}}]`, `[{"B":{"c":[1,3]},"A":"x"}]`, "[0].B.c[1]=B.c[]"},
		{`[{"name":[{"given":["a"]}]}]`, `[{"name":[{"given":["b"]}]}]`, "[0].name[0].given[0]=name[].given[]"},
		{`[{"A":1}]`, `[{"A":"1"}]`, "[0].A=A"},
		{`[]`, `[{"A":1}]`, "[0]=(record)"},
		{`{"a":1}`, `[1]`, "$=$"},
	} {
		var got []string
		for _, c := range Diff(val(t, tc.a), val(t, tc.b)) {
			got = append(got, c.Path+"="+c.Field())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Diff(%s, %s) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	edited := strings.Replace(fwdMapping, "from: status", "from: \"status.upper()\"\n    required: true", 1)
	p := pair(t, fwdMapping, edited, map[string]string{"room": "R1"})
	inputs := []string{
		`{"resourceType":"Appointment","id":"a1","status":"booked"}`,
		`{"resourceType":"Appointment","id":"a2","status":"booked"}`,
		`{"resourceType":"Appointment","id":"a3"}`,
		`{"resourceType":"Appointment","status":"booked"}`,
		`{"resourceType":"Patient","id":"p1"}`,
	}
	in := func(ctx context.Context, yield func(Input) error) error {
		for i, s := range inputs {
			if err := yield(Input{Ref: "in" + string(rune('0'+i)), Value: val(t, s)}); err != nil {
				return err
			}
		}
		return nil
	}
	var ns []int
	s, err := Run(context.Background(), p, in, Options{OnResult: func(r Result) error { ns = append(ns, r.N); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	want := Summary{Inputs: 5, Same: 1, Changed: 2, NewErrors: 1, BothError: 1,
		Fields: map[string]int{"STATUS": 2},
		Errors: map[string]int{`mapping t/appt: field STATUS (from "status.upper()"): required field is empty`: 1}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("summary %+v\nwant %+v", s, want)
	}
	if !reflect.DeepEqual(ns, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("N = %v", ns)
	}
	if top := s.TopFields(); len(top) != 1 || top[0] != (FieldCount{"STATUS", 2}) {
		t.Fatalf("TopFields = %v", top)
	}
	t.Run("cap", func(t *testing.T) {
		s, err := Run(context.Background(), p, in, Options{MaxInputs: 3})
		if err != nil || s.Inputs != 3 || !s.Capped {
			t.Fatalf("%+v %v", s, err)
		}
		s, err = Run(context.Background(), p, in, Options{MaxInputs: 5})
		if err != nil || s.Inputs != 5 || s.Capped {
			t.Fatalf("exactly at the cap: %+v %v", s, err)
		}
		if _, err := Run(context.Background(), p, in, Options{MaxInputs: HardMaxInputs + 1}); err == nil {
			t.Fatal("a cap over HardMaxInputs was accepted")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		s, err := Run(ctx, p, in, Options{OnResult: func(Result) error { cancel(); return nil }})
		if !errors.Is(err, context.Canceled) || s.Inputs != 1 {
			t.Fatalf("%+v %v", s, err)
		}
	})
	t.Run("callback error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Run(context.Background(), p, in, Options{OnResult: func(Result) error { return boom }})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
	})
}

func TestApplyPanicIsAnError(t *testing.T) {
	p := pair(t, fwdMapping, fwdMapping, nil)
	_, err := Apply(p.Before, Input{Value: fhir.NewString("not an object")})
	if err == nil {
		t.Fatal("want an error")
	}
}
