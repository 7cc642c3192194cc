package mapping

import (
	"strconv"
	"strings"
)

// Direction says which way a mapping translates.
type Direction int

// The mapping directions.
const (
	// Forward maps one FHIR resource to one vendor record.
	Forward Direction = iota
	// Reverse maps one vendor record to one FHIR resource.
	Reverse
)

// String returns "forward" or "reverse".
func (d Direction) String() string {
	if d == Reverse {
		return "reverse"
	}
	return "forward"
}

// LoadError is a problem found while reading or compiling a mapping file,
// located at a 1-based line and column of that file (0 when unknown).
type LoadError struct {
	File      string
	Line, Col int
	Msg       string
	Err       error // underlying error (e.g. a *fhirpath.Error), or nil
}

// Unwrap returns the underlying error.
func (e *LoadError) Unwrap() error { return e.Err }

// Error formats the error as file:line:col: msg.
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Col))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// FieldError is a failure to produce one field of one record. It names
// the mapping, the target field and the expression, never a value from
// the data, so it is safe to log.
type FieldError struct {
	Mapping string // mapping name
	Field   string // target path of the field, e.g. "APP_DATE" or "name[].given"
	Expr    string // the field's source: expression text, or "" for constants
	Reason  string // what went wrong, e.g. "required field is empty"
	Err     error  // underlying error (FHIRPath evaluation), if any
}

// Error formats the error as
// `mapping NAME: field FIELD (from "EXPR"): REASON`.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("mapping ")
	b.WriteString(e.Mapping)
	b.WriteString(": field ")
	b.WriteString(e.Field)
	if e.Expr != "" {
		b.WriteString(" (from ")
		b.WriteString(strconv.Quote(e.Expr))
		b.WriteByte(')')
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		if e.Reason != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }
