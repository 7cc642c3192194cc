package casetest

import (
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Diff compares two JSON values and returns one line per difference,
// `PATH: want X, got Y`, where PATH is a JSON path like [0].APP_DATE.
// Numbers compare by value; object member order is ignored.
func Diff(want, got *fhir.Value) []string {
	var out []string
	diff(&out, "", want, got)
	return out
}

func show(v *fhir.Value) string {
	if v == nil {
		return "absent"
	}
	return string(v.JSON())
}

func diff(out *[]string, p string, want, got *fhir.Value) {
	label := p
	if label == "" {
		label = "$"
	} else if label[0] == '.' {
		label = label[1:]
	}
	if want == nil || got == nil || want.Kind != got.Kind {
		if !(want == nil && got == nil) {
			*out = append(*out, label+": want "+show(want)+", got "+show(got))
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
		n := max(len(want.Items), len(got.Items))
		for i := 0; i < n; i++ {
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
			*out = append(*out, label+": want "+show(want)+", got "+show(got))
		}
	default:
		if want.Str != got.Str {
			*out = append(*out, label+": want "+show(want)+", got "+show(got))
		}
	}
}
