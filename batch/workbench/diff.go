package workbench

import (
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
)

// Change is one field-level difference between two outputs.
type Change struct {
	// Path is the JSON path of the field in the list of records, such as
	// [0].APP_DATE or [1].name[0].given.
	Path string
	// Before and After are the field's values, nil when absent on that
	// side. They hold patient data.
	Before, After *fhir.Value
}

// Kind says "added", "removed" or "changed".
func (c Change) Kind() string {
	switch {
	case c.Before == nil:
		return "added"
	case c.After == nil:
		return "removed"
	}
	return "changed"
}

// Field is Path without the record index and with every array index as
// [], so that the same field of different records and inputs counts
// once: [0].name[1].given → name[].given.
func (c Change) Field() string {
	p := c.Path
	if strings.HasPrefix(p, "[") {
		if i := strings.IndexByte(p, ']'); i > 0 {
			p = strings.TrimPrefix(p[i+1:], ".")
		}
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '[' {
			if j := strings.IndexByte(p[i:], ']'); j > 0 {
				b.WriteString("[]")
				i += j
				continue
			}
		}
		b.WriteByte(p[i])
	}
	if b.Len() == 0 {
		return "(record)"
	}
	return b.String()
}

// Diff compares two JSON values field by field, as a case failure does
// (casetest.Diff): one Change per leaf (or per subtree present on one side
// only) that differs. Numbers compare by value; object member order is
// ignored. The root is "$" when it alone differs.
func Diff(before, after *fhir.Value) []Change {
	cs := casetest.Diff(before, after)
	if len(cs) == 0 {
		return nil
	}
	out := make([]Change, len(cs))
	for i, c := range cs {
		out[i] = Change{Path: c.Path, Before: c.Want, After: c.Got}
	}
	return out
}
