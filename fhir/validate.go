package fhir

import (
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
)

// maxValidateRounds bounds how often Validate strips the elements
// google/fhir rejected while parsing and parses again, so that rules it
// checks only after a clean parse (required elements, reference types) are
// reported together with format errors.
const maxValidateRounds = 3

// MaxIssues caps the issues Validate reports for one resource; past it a
// last issue says that more were found. A resource of 10,000 bad values
// would otherwise answer with a 25 MB OperationOutcome costing hundreds of
// megabytes to build. The issues kept are the first by element path when
// google/fhir reported no more than 4×MaxIssues problems in one pass.
const MaxIssues = 100

var (
	unmarshallerOnce sync.Once
	unmarshaller     *jsonformat.Unmarshaller
	unmarshallerErr  error
)

// r4 returns the shared validating R4 unmarshaller; it is safe for
// concurrent use (it holds only configuration).
func r4() (*jsonformat.Unmarshaller, error) {
	unmarshallerOnce.Do(func() {
		unmarshaller, unmarshallerErr = jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
		if unmarshaller != nil {
			unmarshaller.MaxNestingDepth = DefaultMaxDepth
		}
	})
	return unmarshaller, unmarshallerErr
}

// Validate checks res against the FHIR R4 structure definitions (via
// github.com/google/fhir/go) and returns every problem found, or nil when
// res is valid. Checked: unknown elements, primitive formats (dates, ids,
// codes of required bindings, …), required elements, reference target
// types, and for a Bundle its structure (see ValidateBundle).
//
// path prefixes every issue expression; give "" for a top-level resource,
// or e.g. "Bundle.entry[1].resource" for a resource inside a Bundle, which
// yields expressions such as "Bundle.entry[1].resource.Appointment.status".
//
// Issue texts come from a fixed vocabulary and never quote the resource.
func Validate(res *Value, path string) *OperationOutcome {
	if res == nil || res.Kind != Object {
		return (*OperationOutcome)(nil).Add(CodeStructure, path, "a resource must be a JSON object")
	}
	rt := res.ResourceType()
	if rt == "" {
		return (*OperationOutcome)(nil).Add(CodeStructure, joinPath(path, "resourceType"), "resourceType is missing or not a string")
	}
	if rt == "Bundle" {
		return validateBundle(res, path)
	}
	return validateResource(res, path)
}

// validateResource runs google/fhir over one resource that is not a Bundle.
func validateResource(res *Value, path string) *OperationOutcome {
	u, err := r4()
	if err != nil {
		return (*OperationOutcome)(nil).Add(CodeException, path, "the R4 validator is unavailable")
	}
	var oo *OperationOutcome
	seen := map[string]bool{}
	more := false
	add := func(is Issue) {
		key := is.Code + "\x00" + strings.Join(is.Expression, ",") + "\x00" + is.Diagnostics
		switch {
		case seen[key]:
		case len(seen) >= MaxIssues:
			more = true
		default:
			seen[key] = true
			oo = oo.Merge(&OperationOutcome{Issues: []Issue{is}})
		}
	}

	cur := res
	dropped := map[string]bool{} // elements stripped in earlier rounds
	for round := 0; round < maxValidateRounds; round++ {
		rep := &collector{}
		_, err := u.UnmarshalWithErrorReporter(cur.JSON(), rep)
		sortProblems(rep.problems)
		for _, p := range rep.problems {
			if p.code == CodeRequired && dropped[p.element] {
				continue // missing only because it was stripped
			}
			add(p.issue(path))
		}
		if err == nil {
			break
		}
		probs := unmarshalProblems(err)
		sortProblems(probs)
		drop := map[string]bool{}
		for _, p := range probs {
			if inBrokenPair(p, probs) {
				continue
			}
			add(p.issue(path))
			if strings.Contains(p.element, ".") {
				drop[p.element] = true
				dropped[p.element] = true
				if p.pair {
					// the value array and its "_" extension array: strip both
					ext := extensionSibling(p.element)
					drop[ext], dropped[ext] = true, true
				}
				// a stripped array item leaves its array required-empty
				if base, _, ok := strings.Cut(p.element[strings.LastIndexByte(p.element, '.')+1:], "["); ok {
					dropped[p.element[:strings.LastIndexByte(p.element, '.')+1]+base] = true
				}
			}
		}
		next, removed := removePaths(cur, drop)
		if removed == 0 {
			break
		}
		// Parse again without the rejected elements: google/fhir checks
		// required elements only after a clean parse. Indexes of later
		// items in an array that lost an item shift in this round.
		cur = next
	}
	// google/fhir checks the R4 id pattern; ValidID refuses "." and ".." too
	if id := res.Get("id"); id != nil && id.Kind == String && dotSegment(id.Str) {
		add(Issue{Severity: SeverityError, Code: CodeValue, Expression: []string{joinPath(path, res.ResourceType()+".id")},
			Diagnostics: "id must not be \".\" or \"..\" (they are path steps, not ids)"})
	}
	if more {
		oo = oo.Add(CodeTooCostly, joinPath(path, res.ResourceType()),
			"more than "+strconv.Itoa(MaxIssues)+" problems in this resource; the rest are not listed")
	}
	return oo
}

// sortProblems orders problems by path and rule: google/fhir walks JSON
// objects in map order, and outcomes should not change from run to run.
func sortProblems(ps []problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].element != ps[j].element {
			return ps[i].element < ps[j].element
		}
		return ps[i].text < ps[j].text
	})
}

// collector is a google/fhir ErrorReporter that keeps sanitised problems.
type collector struct{ problems []problem }

// ReportValidationError keeps the sanitised problems of err.
func (c *collector) ReportValidationError(elementPath string, err error) error {
	if len(c.problems) >= 4*MaxIssues {
		return nil // enough to fill an outcome; the rest would only cost memory
	}
	ps := unmarshalProblems(err)
	if len(ps) == 0 {
		ps = []problem{{element: sanitizePath(elementPath), code: CodeInvalid, text: "invalid value"}}
	}
	c.problems = append(c.problems, ps...)
	return nil
}

// ReportValidationWarning ignores warnings.
func (c *collector) ReportValidationWarning(string, error) error { return nil }

// problem is one google/fhir finding reduced to an element path and a rule
// from a fixed vocabulary.
type problem struct {
	element string // path as google/fhir writes it, starting with the resource type
	code    string
	text    string
	// pair marks a mismatch between a primitive array and its "_"
	// extension array; element names the value array.
	pair bool
}

// inBrokenPair reports whether p is about an item of a primitive array
// that probs also report as not matching its "_" extension array. Such
// an item problem depends on which array google/fhir read first (a null
// value is valid only with its extension), and both arrays are stripped
// whole: only the mismatch is reported.
func inBrokenPair(p problem, probs []problem) bool {
	for _, q := range probs {
		if q.pair && (strings.HasPrefix(p.element, q.element+"[") ||
			strings.HasPrefix(p.element, extensionSibling(q.element)+"[")) {
			return true
		}
	}
	return false
}

// extensionSibling returns the path of the "_" extension array of the
// primitive element at path: "Patient.name[0].given" →
// "Patient.name[0]._given".
func extensionSibling(path string) string {
	i := strings.LastIndexByte(path, '.')
	return path[:i+1] + "_" + path[i+1:]
}

func (p problem) issue(prefix string) Issue {
	is := Issue{Severity: SeverityError, Code: p.code, Diagnostics: p.text}
	if e := joinPath(prefix, p.element); e != "" {
		is.Expression = []string{e}
	}
	return is
}

func joinPath(prefix, p string) string {
	switch {
	case prefix == "":
		return p
	case p == "":
		return prefix
	}
	return prefix + "." + p
}

// unmarshalProblems reads google/fhir's UnmarshalError and
// UnmarshalErrorList (an internal package, so by reflection on their
// exported fields Path, Details and Diagnostics). Diagnostics may hold
// values and is used only for unknown element names that look like names.
func unmarshalProblems(err error) []problem {
	if err == nil {
		return nil
	}
	rv := reflect.ValueOf(err)
	if rv.Kind() == reflect.Slice {
		var out []problem
		for i := 0; i < rv.Len(); i++ {
			if p, ok := oneProblem(rv.Index(i)); ok {
				out = append(out, p)
			}
		}
		return out
	}
	if p, ok := oneProblem(rv); ok {
		return []problem{p}
	}
	return []problem{{code: CodeProcessing, text: "the resource could not be validated"}}
}

func oneProblem(rv reflect.Value) (problem, bool) {
	if rv.Kind() == reflect.Interface {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return problem{}, false
	}
	s := rv.Elem()
	f := func(name string) string {
		if v := s.FieldByName(name); v.IsValid() && v.Kind() == reflect.String {
			return v.String()
		}
		return ""
	}
	if !s.FieldByName("Details").IsValid() {
		return problem{}, false
	}
	p := problem{element: sanitizePath(f("Path"))}
	p.code, p.text = describe(f("Details"))
	switch f("Details") {
	case "unknown field":
		p.element = joinPath(p.element, quotedName(f("Diagnostics")))
	default:
		if strings.HasPrefix(f("Details"), "array length mismatch") {
			// google/fhir reports the array (value or "_" extensions) it
			// happened to read second, in map order: name the value array
			// always, so that the outcome does not change from run to run.
			if i := strings.LastIndexByte(p.element, '.'); i >= 0 && strings.HasPrefix(p.element[i+1:], "_") {
				p.element = p.element[:i+1] + p.element[i+2:]
			}
			p.pair = true
		}
		if name, ok := strings.CutPrefix(f("Details"), "missing required field "); ok {
			p.element = joinPath(p.element, quotedName(name))
		}
	}
	return p, true
}

// quotedName unquotes a Go-quoted element name and keeps it only when it
// has the syntax of a FHIR element name (see elementName).
func quotedName(q string) string {
	s, err := strconv.Unquote(q)
	if err != nil {
		return "?"
	}
	return elementName(s)
}

// elementName keeps an unknown element name, which is echoed in
// OperationOutcome.expression, only when it has the syntax of a FHIR
// element name: a lower-case letter (or '_' for a primitive's extension)
// then letters, digits and '_', at most 64 bytes (safeKey). A capitalised
// word ("Smith"), a phrase or a long string could be data: it becomes "?".
func elementName(s string) string {
	k := safeKey(s)
	if k == "?" || !(k[0] >= 'a' && k[0] <= 'z' || k[0] == '_') {
		return "?"
	}
	return k
}

// sanitizePath keeps a google/fhir element path only when every step looks
// like an element name with optional [index]; anything else becomes "?".
func sanitizePath(p string) string {
	if p == "" {
		return ""
	}
	steps := strings.Split(p, ".")
	for i, st := range steps {
		name, idx, hasIdx := strings.Cut(st, "[")
		if hasIdx {
			n, ok := strings.CutSuffix(idx, "]")
			if _, err := strconv.Atoi(n); !ok || err != nil {
				steps[i] = "?"
				continue
			}
		}
		if safeKey(name) != name {
			steps[i] = "?"
		}
	}
	return strings.Join(steps, ".")
}
