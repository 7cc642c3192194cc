package workbench

import (
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
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

// Diff compares two JSON values field by field: one Change per leaf (or
// per subtree present on one side only) that differs. Numbers compare by
// value; object member order is ignored. The root is "$" when it alone
// differs.
func Diff(before, after *fhir.Value) []Change {
	var out []Change
	diff(&out, "", before, after)
	return out
}

func diff(out *[]Change, p string, a, b *fhir.Value) {
	label := strings.TrimPrefix(p, ".")
	if label == "" {
		label = "$"
	}
	if a == nil || b == nil || a.Kind != b.Kind {
		if a != nil || b != nil {
			*out = append(*out, Change{Path: label, Before: a, After: b})
		}
		return
	}
	switch a.Kind {
	case fhir.Object:
		for _, m := range a.Members {
			diff(out, p+"."+m.Key, m.Value, b.Get(m.Key))
		}
		for _, m := range b.Members {
			if a.Get(m.Key) == nil {
				diff(out, p+"."+m.Key, nil, m.Value)
			}
		}
	case fhir.Array:
		for i := 0; i < max(len(a.Items), len(b.Items)); i++ {
			var x, y *fhir.Value
			if i < len(a.Items) {
				x = a.Items[i]
			}
			if i < len(b.Items) {
				y = b.Items[i]
			}
			diff(out, p+"["+strconv.Itoa(i)+"]", x, y)
		}
	case fhir.Number:
		af, e1 := strconv.ParseFloat(a.Str, 64)
		bf, e2 := strconv.ParseFloat(b.Str, 64)
		if e1 != nil || e2 != nil || af != bf {
			*out = append(*out, Change{Path: label, Before: a, After: b})
		}
	default:
		if a.Str != b.Str {
			*out = append(*out, Change{Path: label, Before: a, After: b})
		}
	}
}
