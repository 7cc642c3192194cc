package fhir

import (
	"encoding/json"
	"errors"
	"strings"

	models "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Issue severities (FHIR IssueSeverity codes).
const (
	SeverityFatal       = "fatal"
	SeverityError       = "error"
	SeverityWarning     = "warning"
	SeverityInformation = "information"
)

// Issue type codes (FHIR IssueType codes) used by this package.
const (
	CodeStructure  = "structure"  // the content is not well formed JSON or FHIR structure
	CodeInvalid    = "invalid"    // the content is invalid in a way not covered below
	CodeRequired   = "required"   // a required element is missing
	CodeValue      = "value"      // an element has a value of the wrong format or domain
	CodeNotFound   = "not-found"  // a reference could not be resolved
	CodeProcessing = "processing" // processing the content failed
	CodeException  = "exception"  // an unexpected failure not caused by the content
	CodeTooCostly  = "too-costly" // the content is too large or complex to process
)

// OperationOutcome is a list of problems found in FHIR content, in the shape
// of the FHIR OperationOutcome resource. Its text never holds a value from
// the content it describes: only element paths and fixed rule descriptions,
// so it is safe to log and to return to any caller.
//
// A nil *OperationOutcome means "no problems".
type OperationOutcome struct {
	Issues []Issue
}

// Issue is one problem of an OperationOutcome.
type Issue struct {
	// Severity is one of the Severity* constants.
	Severity string
	// Code is a FHIR IssueType code, one of the Code* constants.
	Code string
	// Expression holds the FHIRPath-like element paths of the problem, e.g.
	// "Bundle.entry[1].resource.Appointment.status".
	Expression []string
	// Diagnostics is a fixed description of the rule that was broken.
	Diagnostics string
}

// Add appends an error issue and returns o, allocating o when nil.
func (o *OperationOutcome) Add(code, expression, diagnostics string) *OperationOutcome {
	if o == nil {
		o = &OperationOutcome{}
	}
	is := Issue{Severity: SeverityError, Code: code, Diagnostics: diagnostics}
	if expression != "" {
		is.Expression = []string{expression}
	}
	o.Issues = append(o.Issues, is)
	return o
}

// Merge appends the issues of other to o and returns o, allocating o when
// nil and other has issues. Merge(nil, nil) is nil.
func (o *OperationOutcome) Merge(other *OperationOutcome) *OperationOutcome {
	if other == nil || len(other.Issues) == 0 {
		return o
	}
	if o == nil {
		o = &OperationOutcome{}
	}
	o.Issues = append(o.Issues, other.Issues...)
	return o
}

// HasErrors reports whether o has an issue of severity error or fatal.
func (o *OperationOutcome) HasErrors() bool {
	if o == nil {
		return false
	}
	for _, is := range o.Issues {
		if is.Severity == SeverityError || is.Severity == SeverityFatal {
			return true
		}
	}
	return false
}

// Error lists the issues, one "path: text" per line, so an
// *OperationOutcome can be returned as an error.
func (o *OperationOutcome) Error() string {
	if o == nil || len(o.Issues) == 0 {
		return "no issues"
	}
	var b strings.Builder
	for i, is := range o.Issues {
		if i > 0 {
			b.WriteByte('\n')
		}
		if len(is.Expression) > 0 {
			b.WriteString(strings.Join(is.Expression, ", "))
			b.WriteString(": ")
		}
		b.WriteString(is.Diagnostics)
	}
	return b.String()
}

// JSON returns o as a FHIR R4 OperationOutcome resource. An outcome without
// issues becomes a single informational "all ok" issue, since FHIR requires
// at least one.
func (o *OperationOutcome) JSON() []byte {
	var out models.OperationOutcome
	var issues []Issue
	if o != nil {
		issues = o.Issues
	}
	if len(issues) == 0 {
		issues = []Issue{{Severity: SeverityInformation, Code: "informational", Diagnostics: "all ok"}}
	}
	for _, is := range issues {
		var mi models.OperationOutcomeIssue
		if err := mi.Severity.UnmarshalJSON([]byte(is.Severity)); err != nil {
			mi.Severity = models.IssueSeverityError
		}
		if err := mi.Code.UnmarshalJSON([]byte(is.Code)); err != nil {
			mi.Code = models.IssueTypeProcessing
		}
		if is.Diagnostics != "" {
			d := is.Diagnostics
			mi.Diagnostics = &d
		}
		mi.Expression = is.Expression
		out.Issue = append(out.Issue, mi)
	}
	b, err := json.Marshal(out)
	if err != nil {
		// Unreachable: the struct holds only strings and codes.
		return []byte(`{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception"}]}`)
	}
	return b
}

// FromError converts err to an OperationOutcome: an *OperationOutcome is
// returned as it is, a *SyntaxError becomes a structure issue at its path
// (its message names line and column, never a value), and any other error
// becomes a processing issue with a fixed text, since its message may carry
// data. FromError(nil) is nil.
func FromError(err error) *OperationOutcome {
	if err == nil {
		return nil
	}
	var oo *OperationOutcome
	if errors.As(err, &oo) && oo != nil {
		return oo
	}
	var se *SyntaxError
	if errors.As(err, &se) {
		return (*OperationOutcome)(nil).Add(CodeStructure, se.Path, se.Error())
	}
	var le *LineTooLongError
	if errors.As(err, &le) {
		return (*OperationOutcome)(nil).Add(CodeStructure, "", le.Error())
	}
	return (*OperationOutcome)(nil).Add(CodeProcessing, "", "the content could not be processed")
}
