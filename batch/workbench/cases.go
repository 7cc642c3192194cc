package workbench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing/fstest"
	"unicode"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
)

// MaxCases bounds the cases saved at once.
const MaxCases = 200

// CaseInput is one input chosen to become a test case.
type CaseInput struct {
	// Name is the case's name; "" names it by the input's Ref.
	Name  string
	Input Input
}

// Cases returns the text of a `*.cases.yaml` file (the format
// mapping/casetest reads) holding one case per chosen input: the input,
// the run's parameters, and what the edited mapping gives (expect) or the
// error it fails with (error). A forward input whose references resolved
// is saved as a Bundle holding it first and then the resources it
// resolved, so that the case reproduces without the store. Before
// returning, the text is run with casetest against the edited mapping
// and every case must pass; errors name cases by number and JSON paths,
// never values.
func Cases(p *Pair, chosen []CaseInput) ([]byte, error) {
	if len(chosen) == 0 {
		return nil, errors.New("no input chosen for test cases")
	}
	if len(chosen) > MaxCases {
		return nil, fmt.Errorf("%d inputs chosen, at most %d cases are saved at once", len(chosen), MaxCases)
	}
	var b bytes.Buffer
	b.WriteString("# Test cases of " + oneLine(p.After.Name()) + ", saved from the mapping workbench: the outputs\n")
	b.WriteString("# of the edited mapping. They hold the inputs as stored: review them for\n# patient data before committing.\ncases:\n")
	for i, c := range chosen {
		name := c.Name
		if name == "" {
			name = c.Input.Ref
		}
		if name == "" {
			name = fmt.Sprintf("case %d", i+1)
		}
		in, err := caseInput(p.After, c.Input)
		if err != nil {
			return nil, fmt.Errorf("case %d: %w", i+1, err)
		}
		b.WriteString("  - name: ")
		b.Write(fhir.AppendQuoted(nil, name))
		b.WriteByte('\n')
		if len(p.Params) > 0 {
			b.WriteString("    params: ")
			b.Write(paramsJSON(p.Params))
			b.WriteByte('\n')
		}
		writeInput(&b, in)
		out, err := caseOutputs(p.After, in)
		if err != nil {
			b.WriteString("    error: ")
			b.Write(fhir.AppendQuoted(nil, caseError(err)))
			b.WriteByte('\n')
			continue
		}
		b.WriteString("    expect: ")
		b.Write(fhir.NewArray(out...).JSON())
		b.WriteByte('\n')
	}
	if err := verifyCases(p, b.Bytes()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// oneLine keeps s on one comment line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func paramsJSON(params map[string]string) []byte {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := fhir.NewObject()
	for _, k := range keys {
		o.Set(k, fhir.NewString(params[k]))
	}
	return o.JSON()
}

// caseInput is the value saved as a case's input: the input itself, or
// for a forward input whose references resolved, a collection Bundle of
// it and the resources it resolved.
func caseInput(m *mapping.Mapping, x Input) (*fhir.Value, error) {
	if m.Direction() != mapping.Forward || x.Resolver == nil {
		return x.Value, nil
	}
	var resolved []*fhir.Value
	seen := map[string]bool{}
	rec := fhir.ResolverFunc(func(ref string) *fhir.Value {
		v := x.Resolver.Resolve(ref)
		if v != nil && v != x.Value {
			key := v.ResourceType() + "/" + v.GetString("id")
			if !seen[key] {
				seen[key] = true
				resolved = append(resolved, v)
			}
		}
		return v
	})
	_, _ = Apply(m, Input{Value: x.Value, Resolver: rec, Bundle: x.Bundle})
	if len(resolved) == 0 {
		return x.Value, nil
	}
	entries := fhir.NewArray()
	for _, v := range append([]*fhir.Value{x.Value}, resolved...) {
		e := fhir.NewObject()
		e.Set("resource", v)
		entries.Items = append(entries.Items, e)
	}
	bdl := fhir.NewObject()
	bdl.Set("resourceType", fhir.NewString("Bundle"))
	bdl.Set("type", fhir.NewString("collection"))
	bdl.Set("entry", entries)
	return bdl, nil
}

// caseOutputs maps a case's input as casetest does.
func caseOutputs(m *mapping.Mapping, in *fhir.Value) ([]*fhir.Value, error) {
	if m.Direction() != mapping.Forward || in.ResourceType() != "Bundle" || m.SourceType() == "Bundle" {
		return Apply(m, Input{Value: in})
	}
	b, err := fhir.ParseBundle(in)
	if err != nil {
		return nil, err
	}
	var out []*fhir.Value
	for i, e := range b.Entries {
		if e.Resource == nil {
			continue
		}
		recs, err := Apply(m, Input{Value: e.Resource, Resolver: b.ResolverFor(i), Bundle: in})
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// caseError is the substring a case expects of an error: the mapping's
// own message, without the prefixes the workbench adds.
func caseError(err error) string {
	var fe *mapping.FieldError
	if errors.As(err, &fe) {
		return fe.Error()
	}
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "parsing the HL7 v2 message: ") {
		return u.Error()
	}
	return err.Error()
}

// writeInput writes `    input: …`: ER7 text as a literal block when
// it is plain printable text, anything else as JSON (which YAML reads).
func writeInput(b *bytes.Buffer, in *fhir.Value) {
	b.WriteString("    input: ")
	if in.Kind == fhir.String {
		if lines, ok := blockLines(in.Str); ok {
			b.WriteString("|\n")
			for _, l := range lines {
				b.WriteString("      " + l + "\n")
			}
			return
		}
	}
	b.Write(in.JSON())
	b.WriteByte('\n')
}

// blockLines splits ER7 text into its segment lines when every line can
// stand in a YAML literal block as is.
func blockLines(s string) ([]string, bool) {
	var lines []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }) {
		if strings.TrimSpace(l) == "" || l[0] == ' ' || l[len(l)-1] == ' ' {
			return nil, false
		}
		for _, r := range l {
			if r != ' ' && (!unicode.IsPrint(r) || unicode.IsSpace(r) || r == 0xFEFF) {
				return nil, false
			}
		}
		lines = append(lines, l)
	}
	return lines, len(lines) > 0
}

// overlay serves the files of top, and the others from base.
type overlay struct {
	top  fstest.MapFS
	base fs.FS
}

// Open opens name from top when it is there, else from base.
func (o overlay) Open(name string) (fs.File, error) {
	if _, ok := o.top[name]; ok {
		return o.top.Open(name)
	}
	if o.base == nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return o.base.Open(name)
}

// ErrCasesDiffer reports saved cases that the edited mapping does not
// pass when casetest reads them back.
var ErrCasesDiffer = errors.New("the saved cases do not reproduce the edited mapping's outputs")

// verifyCases runs text as the cases file of the edited mapping.
func verifyCases(p *Pair, text []byte) error {
	casesPath := strings.TrimSuffix(p.Source.File, ".yaml") + ".cases.yaml"
	fsys := overlay{top: fstest.MapFS{
		p.Source.File: {Data: p.Edited},
		casesPath:     {Data: text},
	}, base: p.Source.FS}
	res, err := casetest.Run(fsys, casesPath)
	if err != nil {
		// the YAML parser's message may quote the text: keep the place
		var le *mapping.LoadError
		if errors.As(err, &le) {
			return fmt.Errorf("reading the saved cases back: line %d col %d: %w", le.Line, le.Col, ErrCasesDiffer)
		}
		return fmt.Errorf("reading the saved cases back: %w", ErrCasesDiffer)
	}
	for i, r := range res {
		if r.Pass {
			continue
		}
		var paths []string
		for _, d := range r.Diff {
			path, _, _ := strings.Cut(d, ":")
			paths = append(paths, path)
		}
		return fmt.Errorf("case %d at %s: %w", i+1, strings.Join(paths, ", "), ErrCasesDiffer)
	}
	return nil
}
