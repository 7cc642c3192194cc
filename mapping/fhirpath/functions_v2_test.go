package fhirpath

import (
	"errors"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// v2Msg is a synthetic SIU^S12 with repetitions, components,
// subcomponents, escapes, empty values and two RGS groups.
var v2Msg = strings.Join([]string{
	`MSH|^~\&|SCHED|GOODHEALTH|FHIRBRIDGE|TELECARE|20260102090000||SIU^S12^SIU_S12|MSG00002|P|2.5.1`,
	`SCH|APT0001^SCHED|APT0001^TELECARE||||NEW^New appointment`,
	`PID|1||TEST0002^^^GOODHEALTH&1.2.3&ISO^MR~~ALT0002^^^OTHER^PI~""||TESTPATIENT^DELTA~ALIAS^ECHO||19900202|M`,
	`NTE|1||A \F\ B \S\ C \T\ D \R\ E \E\ F`,
	`RGS|1|A`,
	`AIS|1|A|TELEVISIT^Video visit^LOCAL`,
	`AIP|1|A|0001^DOCTOR`,
	`AIP|2|A|0002^NURSE`,
	`RGS|2|A`,
	`AIS|2|A|INTERP^Interpreter^LOCAL`,
	`AIP|3|A|0003^INTERPRETER`,
	`NTE|2||SECRETNOTE \Q\ here`,
}, "\r")

func evalV2(t *testing.T, expr string) (Collection, error) {
	t.Helper()
	msg, err := hl7v2.Parse([]byte(v2Msg))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(expr, Options{})
	if err != nil {
		return nil, err
	}
	return e.Eval(&Env{Message: msg}, Collection{MessageItem()})
}

func strs(c Collection) string {
	var parts []string
	for _, it := range c {
		s, ok := it.AsString()
		if !ok {
			s = "<" + it.TypeName() + ">"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func TestV2Functions(t *testing.T) {
	tests := []struct{ expr, want string }{
		// fields, components, subcomponents
		{"v2('MSH-9.2')", "S12"},
		{"v2('MSH-1')", "|"},
		{"v2('MSH-2')", `^~\&`},
		{"v2('SCH-1')", "APT0001"},
		{"v2('SCH-1.2')", "SCHED"},
		{"v2('PID-3[1].4.2')", "1.2.3"},
		{"v2('PID-3[1].4')", "GOODHEALTH"},
		// every repetition without an index; empty and "" are absent
		{"v2('PID-3')", "TEST0002,ALT0002"},
		{"v2('PID-3.5')", "MR,PI"},
		{"v2('PID-3[2]')", ""},
		{"v2('PID-3[3]')", "ALT0002"},
		{"v2('PID-3[4]')", ""},
		{"v2('PID-3[5]')", ""},
		{"v2('PID-5.2')", "DELTA,ECHO"},
		{"v2('PID-5[2].1')", "ALIAS"},
		{"v2('PID-4')", ""},
		{"v2('PID-99')", ""},
		// escapes
		{"v2('NTE-3')", `A | B ^ C & D ~ E \ F`},
		// occurrences and missing segments
		{"v2('AIP-3')", "0001"},
		{"v2('AIP[3]-3')", "0003"},
		{"v2('AIP[4]-3')", ""},
		{"v2('ZZZ-1')", ""},
		{"v2('PV1-2').empty()", "true"},
		// segments
		{"v2segments('AIP').count()", "3"},
		{"v2segments('AIP').v2('AIP-3.2')", "DOCTOR,NURSE,INTERPRETER"},
		{"v2segments('AIP')[1].v2('AIP-1')", "2"},
		{"v2segments('ZZZ').count()", "0"},
		// groups
		{"v2groups('RGS').count()", "2"},
		{"v2groups('RGS')[0].v2segments('AIP').count()", "2"},
		{"v2groups('RGS')[1].v2segments('AIP').v2('AIP-3')", "0003"},
		{"v2groups('RGS')[1].v2('AIS-3.2')", "Interpreter"},
		{"v2groups('RGS')[1].v2('AIP[2]-3')", ""},
		{"v2groups('RGS')[0].v2('AIP[2]-3')", "0002"},
		{"v2groups('RGS').v2('RGS-1')", "1,2"},
		{"v2groups('RGS')[0].v2('NTE-3').exists()", "false"},
		{"v2groups('RGS')[0].v2groups('AIP').count()", "2"},
		{"v2groups('ZZZ').count()", "0"},
		// repetitions
		{"v2reps('PID-3').count()", "2"},
		{"v2reps('PID-3').v2('1')", "TEST0002,ALT0002"},
		{"v2reps('PID-3').v2('4.1')", "GOODHEALTH,OTHER"},
		{"v2reps('PID-3').v2('4.3')", "ISO"},
		{"v2reps('PID-3')[1].v2('5')", "PI"},
		{"v2reps('PID-3[2]').count()", "0"},
		{"v2reps('PID-3[3]').v2('1')", "ALT0002"},
		{"v2reps('PID-5').where(v2('1') = 'ALIAS').v2('2')", "ECHO"},
		{"v2segments('PID').v2reps('PID-3').count()", "2"},
		{"v2reps('MSH-2').v2('1')", `^~\&`},
		// equality of positions
		{"(v2segments('AIP') | v2segments('AIP')).count()", "3"},
		{"v2groups('RGS').v2segments('AIP').distinct().count()", "3"},
		{"v2segments('AIP').first() = v2segments('AIP')[0]", "true"},
		{"v2segments('AIP').first() = v2segments('AIP')[1]", "false"},
		{"v2segments('AIP').first() = 'x'", "false"},
		{"v2segments('AIP').first() ~ v2segments('AIP').first()", "true"},
		// %resource is the message wherever the focus is
		{"v2segments('AIP').select(%resource.v2('MSH-9.2'))", "S12,S12,S12"},
		{"v2segments('AIP').select(%resource.v2segments('AIP').count())", "3,3,3"},
		// with other functions
		{"v2('PID-7').substring(0, 4)", "1990"},
		{"iif(v2('MSH-9.2') in ('S12' | 'S13'), 'booked', 'other')", "booked"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := evalV2(t, tc.expr)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if s := strs(got); s != tc.want {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

func TestV2TypeNames(t *testing.T) {
	for expr, want := range map[string]string{
		"%context": "HL7v2.Message", "v2segments('PID')": "HL7v2.Segment",
		"v2groups('RGS')": "HL7v2.Group", "v2reps('PID-3')": "HL7v2.Repetition",
	} {
		got, err := evalV2(t, expr+".first()")
		if err != nil || len(got) != 1 || got[0].TypeName() != want {
			t.Errorf("%s: %v %v, want one %s", expr, strs(got), err, want)
		}
	}
}

func TestV2CompileErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"v2('pid-5')", "column 4: v2(): path \"pid-5\""},
		{"v2('PID')", "expected '-' and a field number"},
		{"v2('PID-0')", "numbers start at 1"},
		{"v2('PID-5.1.2.3')", "unexpected character"},
		{"v2('0')", "component[.subcomponent]"},
		{"v2('4.1.1')", "component[.subcomponent]"},
		{"v2('4.x')", "component[.subcomponent]"},
		{"v2(v2('MSH-3'))", "takes a string literal"},
		{"v2('PID-' + '3')", "takes a string literal"},
		{"v2()", "wrong number of arguments"},
		{"v2segments('aip')", "segment name must be"},
		{"v2segments('AIPX')", "segment name must be"},
		{"v2groups('1AB')", "segment name must be"},
		{"v2reps('PID-3.1')", "without component"},
		{"v2reps('1')", "field path"},
		{"v2segments('AIP').v2('AIS-3')", "path names segment AIS but the focus is AIP segments"},
		{"v2segments('AIP').v2reps('PID-3')", "path names segment PID but the focus is AIP segments"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := Compile(tc.expr, Options{})
			if err == nil {
				t.Fatal("compiled; want an error")
			}
			var fe *Error
			if !errors.As(err, &fe) || !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v is not a located syntax error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestV2EvalErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"v2segments('AIP').first().v2('AIS-3')", "path names segment AIS but the focus is a AIP segment"},
		{"v2segments('AIP').first().v2('AIP[2]-3')", "needs a message or group as the focus"},
		{"v2segments('AIP').v2segments('AIP')", "v2segments() needs an HL7 v2 message or group"},
		{"v2reps('PID-3').v2('PID-3')", "give component[.subcomponent]"},
		{"v2('1')", "needs a repetition (from v2reps)"},
		{"'x'.v2('PID-3')", "v2() needs an HL7 v2 message, group or segment"},
		{"'x'.v2segments('PID')", "v2segments() needs an HL7 v2 message or group"},
		{"v2reps('PID-3').v2groups('RGS')", "v2groups() needs an HL7 v2 message or group"},
		{"v2('NTE[2]-3')", "NTE[2]-3[1].1: unsupported escape"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := evalV2(t, tc.expr)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrEval) {
				t.Errorf("error %v does not wrap ErrEval", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

// TestV2NoMessage: on a record that is not a message the functions are
// an evaluation error, or nothing on an empty input.
func TestV2NoMessage(t *testing.T) {
	e, err := Compile("v2('PID-3')", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(&Env{}, Collection{MessageItem()}); err == nil || !errors.Is(err, ErrEval) {
		t.Errorf("without Env.Message: %v, want an evaluation error", err)
	}
	if got, err := e.Eval(&Env{}, nil); err != nil || len(got) != 0 {
		t.Errorf("on nothing: %v, %v", got, err)
	}
}

// TestV2ErrorsCarryNoValues: no error names a value of the message.
func TestV2ErrorsCarryNoValues(t *testing.T) {
	values := []string{"TESTPATIENT", "DELTA", "19900202", "TEST0002", "ALT0002", "SECRETNOTE", "here", "DOCTOR", "0001"}
	for _, expr := range []string{
		"v2('NTE[2]-3')", "v2segments('AIP').first().v2('AIS-3')", "v2reps('PID-3').v2('PID-3')",
		"v2('PID-5').toInteger() + 1", "v2('PID-3').single()", "v2('PID-7') + 1",
	} {
		_, err := evalV2(t, expr)
		if err == nil {
			t.Errorf("%s: no error", expr)
			continue
		}
		for _, v := range values {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s: error %q contains the value %q", expr, err, v)
			}
		}
	}
}
