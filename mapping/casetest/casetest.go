// Package casetest runs a mapping's test cases, kept as data in a
// `<stem>.cases.yaml` file beside the mapping `<stem>.yaml`:
//
//	cases:
//	  - name: booked appointment in Madrid
//	    params: {timezone: Europe/Madrid}
//	    input: {resourceType: Appointment, id: a1, ...}
//	    expect: [{APP_LID: a1}]
//	  - name: refuses a missing id
//	    input: {resourceType: Appointment}
//	    error: "field APP_LID"
//
// A forward case's input is a FHIR resource or a Bundle (every entry of the
// mapping's source type is mapped, and references resolve within the
// Bundle); a reverse case's input is one vendor record object or a list of
// them; for an `input: hl7v2` mapping, the ER7 text of one message (a YAML
// block scalar whose lines become CR-terminated segments) or a list of
// them. expect lists the output records in order; error is a substring of
// the expected error.
package casetest

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// Result is the outcome of one case.
type Result struct {
	Name string
	Pass bool
	// Diff lists field-level differences, each as
	// `PATH: want X, got Y` with a JSON path such as [0].APP_DATE.
	Diff []string
	// Err is the error the mapping returned (loading or applying), if any.
	Err error
}

// Case is one parsed test case.
type Case struct {
	Name   string            // case name, shown in results
	Params map[string]string // mapping parameters for this case
	Input  *fhir.Value       // resource, Bundle, record or list of records
	Expect []*fhir.Value     // expected output records in order
	Error  string            // expected error substring; "" expects success
}

// MappingPath returns the mapping file beside a cases file:
// "x/foo.cases.yaml" → "x/foo.yaml".
func MappingPath(casesPath string) string {
	return strings.TrimSuffix(casesPath, ".cases.yaml") + ".yaml"
}

// Run loads the cases at casesPath and the mapping beside it, runs every
// case and returns one Result per case. The error reports an unreadable or
// malformed cases file.
func Run(fsys fs.FS, casesPath string) ([]Result, error) {
	cases, err := Parse(fsys, casesPath)
	if err != nil {
		return nil, err
	}
	mp := MappingPath(casesPath)
	out := make([]Result, 0, len(cases))
	for _, c := range cases {
		out = append(out, runCase(fsys, mp, c))
	}
	return out, nil
}

func runCase(fsys fs.FS, mp string, c Case) Result {
	r := Result{Name: c.Name}
	got, err := apply(fsys, mp, c)
	r.Err = err
	if c.Error != "" {
		r.Pass = err != nil && strings.Contains(err.Error(), c.Error)
		if err == nil {
			r.Diff = []string{"error: want " + strconv.Quote(c.Error) + ", got success"}
		} else if !r.Pass {
			r.Diff = []string{"error: want " + strconv.Quote(c.Error) + ", got " + strconv.Quote(err.Error())}
		}
		return r
	}
	if err != nil {
		r.Diff = []string{"error: want success, got " + strconv.Quote(err.Error())}
		return r
	}
	r.Diff = Lines(fhir.NewArray(c.Expect...), fhir.NewArray(got...))
	r.Pass = len(r.Diff) == 0
	return r
}

// apply loads the mapping with the case's params and maps its input.
func apply(fsys fs.FS, mp string, c Case) ([]*fhir.Value, error) {
	m, err := mapping.Load(fsys, mp, c.Params)
	if err != nil {
		return nil, err
	}
	type job struct {
		in     *fhir.Value
		res    fhir.Resolver
		bundle *fhir.Value
	}
	var jobs []job
	switch {
	case c.Input.Kind == fhir.Array:
		for _, in := range c.Input.Items {
			jobs = append(jobs, job{in: in})
		}
	case m.Direction() == mapping.Forward && c.Input.ResourceType() == "Bundle" && m.SourceType() != "Bundle":
		b, err := fhir.ParseBundle(c.Input)
		if err != nil {
			return nil, err
		}
		for i, e := range b.Entries {
			if e.Resource != nil {
				jobs = append(jobs, job{in: e.Resource, res: b.ResolverFor(i), bundle: c.Input})
			}
		}
	default:
		jobs = []job{{in: c.Input}}
	}
	var out []*fhir.Value
	for _, j := range jobs {
		if m.Direction() == mapping.Forward {
			recs, err := m.ApplyAll(j.in, j.res, j.bundle)
			if err != nil {
				return nil, err
			}
			out = append(out, recs...)
			continue
		}
		var v *fhir.Value
		var err error
		if m.Input() == "hl7v2" {
			v, err = reverseER7(m, j.in)
		} else {
			v, err = m.Reverse(j.in)
		}
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// errER7Input says an hl7v2 case's input is not ER7 text.
var errER7Input = errors.New("the input of an hl7v2 mapping's case is the ER7 text of a message (a YAML block scalar) or a list of them")

// reverseER7 parses a case's ER7 text (lines separated by newlines,
// which become the segment terminator CR) and maps the message.
func reverseER7(m *mapping.Mapping, in *fhir.Value) (*fhir.Value, error) {
	if in.Kind != fhir.String {
		return nil, errER7Input
	}
	text := strings.ReplaceAll(strings.ReplaceAll(in.Str, "\r\n", "\r"), "\n", "\r")
	msg, err := hl7v2.Parse([]byte(text))
	if err != nil {
		return nil, err
	}
	return m.ReverseMessage(msg)
}

// Parse reads a cases file strictly.
func Parse(fsys fs.FS, casesPath string) ([]Case, error) {
	src, err := fs.ReadFile(fsys, casesPath)
	if err != nil {
		return nil, &mapping.LoadError{File: casesPath, Msg: "reading cases: " + err.Error()}
	}
	d := &dec{file: casesPath}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			return nil, d.errAt(ye.GetToken().Position.Line, ye.GetToken().Position.Column, ye.GetMessage())
		}
		return nil, d.errAt(0, 0, "invalid YAML")
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, d.errAt(1, 1, "expected one YAML document")
	}
	return d.cases(f.Docs[0].Body)
}
