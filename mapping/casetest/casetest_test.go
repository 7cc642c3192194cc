package casetest

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/google/go-cmp/cmp"
)

const rowMapping = `name: t/row
version: 1
source: Appointment
params:
  tz: {default: UTC}
vars:
  - name: patient
    from: participant.actor.resolve().first()
fields:
  - target: ID
    from: id
    required: true
  - target: FAMILY
    from: "%patient.name.first().family"
  - target: TZ
    param: tz
  - target: N
    value: 3
`

const rowCases = `cases:
  - name: passes
    params: {tz: Europe/Madrid}
    input:
      resourceType: Bundle
      type: collection
      entry:
        - {fullUrl: "urn:uuid:p", resource: {resourceType: Patient, id: p, name: [{family: Ruiz}]}}
        - {resource: {resourceType: Appointment, id: a1, participant: [{actor: {reference: "urn:uuid:p"}}]}}
        - {resource: {resourceType: Appointment, id: a2, participant: [{actor: {reference: "Patient/p"}}]}}
    expect:
      - {ID: a1, FAMILY: Ruiz, TZ: Europe/Madrid, N: 3.0}
      - {ID: a2, FAMILY: Ruiz, TZ: Europe/Madrid, N: 3}
  - name: differs
    input: {resourceType: Appointment, id: a1}
    expect: [{ID: a9, EXTRA: x, N: 3}]
  - name: expected error
    input: {resourceType: Appointment}
    error: field ID
  - name: wrong error
    input: {resourceType: Appointment, id: a1}
    error: field ID
`

func TestRun(t *testing.T) {
	fsys := fstest.MapFS{
		"m/row.yaml":       {Data: []byte(rowMapping)},
		"m/row.cases.yaml": {Data: []byte(rowCases)},
	}
	got, err := Run(fsys, "m/row.cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type res struct {
		Name string
		Pass bool
		Diff []string
	}
	var short []res
	for _, r := range got {
		short = append(short, res{r.Name, r.Pass, r.Diff})
	}
	want := []res{
		{"passes", true, nil},
		{"differs", false, []string{`[0].ID: want "a9", got "a1"`, `[0].EXTRA: want "x", got absent`, `[0].TZ: want absent, got "UTC"`}},
		{"expected error", true, nil},
		{"wrong error", false, []string{`error: want "field ID", got success`}},
	}
	if d := cmp.Diff(want, short); d != "" {
		t.Errorf("results (-want +got):\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"unknown key", "cases:\n  - name: a\n    input: {}\n    expected: []\n", "c.cases.yaml:4:5: unknown key \"expected\" in case"},
		{"no cases", "tests: []\n", "c.cases.yaml:1:1: a cases file is a mapping with the single key cases"},
		{"no input", "cases:\n  - name: a\n", "c.cases.yaml:2:5: case \"a\" has no input"},
		{"syntax", "cases: [\n", "c.cases.yaml:"},
		{"duplicate", "cases:\n  - name: a\n    name: b\n    input: {}\n", "c.cases.yaml:3:5: mapping key \"name\" already defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(fstest.MapFS{"c.cases.yaml": {Data: []byte(tt.src)}}, "c.cases.yaml")
			var le *mapping.LoadError
			if !errors.As(err, &le) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestMappingPath(t *testing.T) {
	if got := MappingPath("a/b.cases.yaml"); got != "a/b.yaml" {
		t.Errorf("MappingPath = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(rowCases))
	f.Add([]byte("cases: [{name: a, input: 1, expect: [[]]}]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		_, _ = Parse(fstest.MapFS{"c.cases.yaml": {Data: src}}, "c.cases.yaml")
	})
}

const v2Mapping = `name: t/v2
version: 1
source: ADT
direction: reverse
resource: Patient
input: hl7v2
when: "v2('MSH-9.1') = 'ADT'"
fields:
  - target: identifier
    each: "v2reps('PID-3')"
    fields:
      - {target: value, from: "v2('1')"}
  - target: name[0].family
    from: "v2('PID-5[1].1')"
    required: true
  - target: birthDate
    from: "v2('PID-7')"
    transform: [v2datetime]
`

const v2Cases = `cases:
  - name: block scalar
    input: |
      MSH|^~\&|A|B|C|D|20260102090000||ADT^A04|1|P|2.5.1
      PID|1||X1~X2||TESTPATIENT^ALPHA||19900202
    expect:
      - {resourceType: Patient, identifier: [{value: X1}, {value: X2}], name: [{family: TESTPATIENT}], birthDate: "1990-02-02"}
  - name: list of messages, one skipped by when
    input:
      - "MSH|^~\\&|A|B|C|D|20260102090000||ADT^A04|1|P|2.5.1\nPID|1||X1||ONE"
      - "MSH|^~\\&|A|B|C|D|20260102090000||SIU^S12|2|P|2.5.1\nPID|1||X2||TWO"
    expect:
      - {resourceType: Patient, identifier: [{value: X1}], name: [{family: ONE}]}
  - name: required missing
    input: |
      MSH|^~\&|A|B|C|D|20260102090000||ADT^A04|1|P|2.5.1
      PID|1||X1
    error: 'field name[0].family (from "v2(''PID-5[1].1'')"): required field is empty'
  - name: bad date
    input: |
      MSH|^~\&|A|B|C|D|20260102090000||ADT^A04|1|P|2.5.1
      PID|1||X1||TESTPATIENT||1990020
    error: "transform v2datetime: value is not an HL7 v2 date/time"
  - name: unparsable
    input: "PID|1||X1"
    error: "hl7v2: segment 1: message does not start with MSH"
  - name: not text
    input: {resourceType: Patient}
    error: "the input of an hl7v2 mapping's case is the ER7 text"
`

func TestRunHL7v2(t *testing.T) {
	fsys := fstest.MapFS{
		"m/v2.yaml":       {Data: []byte(v2Mapping)},
		"m/v2.cases.yaml": {Data: []byte(v2Cases)},
	}
	results, err := Run(fsys, "m/v2.cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 6 {
		t.Fatalf("%d results, want 6", len(results))
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("case %q: %v (err %v)", r.Name, r.Diff, r.Err)
		}
	}
}
