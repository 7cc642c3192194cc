package casetest

import (
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Change is one field-level difference between two JSON values.
type Change struct {
	// Path is the JSON path of the field, such as [0].APP_DATE or
	// [1].name[0].given; "$" when the roots alone differ.
	Path string
	// Want and Got are the field's values, nil when absent on that side.
	// They may hold patient data.
	Want, Got *fhir.Value
}

// String is the change as a case failure shows it:
// `PATH: want X, got Y`, with "absent" for a missing side.
func (c Change) String() string {
	return c.Path + ": want " + show(c.Want) + ", got " + show(c.Got)
}

// Diff compares two JSON values field by field: one Change per leaf (or
// per subtree present on one side only) that differs, in the order of
// want's members then got's extra ones. Numbers compare by value; object
// member order is ignored.
func Diff(want, got *fhir.Value) []Change {
	var out []Change
	diff(&out, "", want, got)
	return out
}

// Lines is Diff as one String line per change.
func Lines(want, got *fhir.Value) []string {
	var out []string
	for _, c := range Diff(want, got) {
		out = append(out, c.String())
	}
	return out
}

func show(v *fhir.Value) string {
	if v == nil {
		return "absent"
	}
	return string(v.JSON())
}

func diff(out *[]Change, p string, want, got *fhir.Value) {
	label := strings.TrimPrefix(p, ".")
	if label == "" {
		label = "$"
	}
	if want == nil || got == nil || want.Kind != got.Kind {
		if want != nil || got != nil {
			*out = append(*out, Change{Path: label, Want: want, Got: got})
		}
		return
	}
	switch want.Kind {
	case fhir.Object:
		for _, m := range want.Members {
			diff(out, p+"."+m.Key, m.Value, got.Get(m.Key))
		}
		for _, m := range got.Members {
			if want.Get(m.Key) == nil {
				diff(out, p+"."+m.Key, nil, m.Value)
			}
		}
	case fhir.Array:
		for i := 0; i < max(len(want.Items), len(got.Items)); i++ {
			var w, g *fhir.Value
			if i < len(want.Items) {
				w = want.Items[i]
			}
			if i < len(got.Items) {
				g = got.Items[i]
			}
			diff(out, p+"["+strconv.Itoa(i)+"]", w, g)
		}
	case fhir.Number:
		wf, e1 := strconv.ParseFloat(want.Str, 64)
		gf, e2 := strconv.ParseFloat(got.Str, 64)
		if e1 != nil || e2 != nil || wf != gf {
			*out = append(*out, Change{Path: label, Want: want, Got: got})
		}
	default:
		if want.Str != got.Str {
			*out = append(*out, Change{Path: label, Want: want, Got: got})
		}
	}
}
