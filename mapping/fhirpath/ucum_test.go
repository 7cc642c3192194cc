package fhirpath

import (
	"math"
	"strings"
	"testing"
)

func TestParseUCUM(t *testing.T) {
	cases := []struct {
		unit string
		f    float64
		key  string // "" when the unit is refused
	}{
		{"g", 1, "g"},
		{"mg", 1e-3, "g"},
		{"kg", 1e3, "g"},
		{"ug", 1e-6, "g"},
		{"m", 1, "m"},
		{"cm", 1e-2, "m"},
		{"mm", 1e-3, "m"},
		{"dam", 10, "m"},
		{"s", 1, "s"},
		{"ms", 1e-3, "s"},
		{"min", 60, "s"},
		{"h", 3600, "s"},
		{"d", 86400, "s"},
		{"wk", 604800, "s"},
		{"a", 31557600, "s"},
		{"mo", 2629800, "s"},
		{"L", 1e-3, "m3"},
		{"mL", 1e-6, "m3"},
		{"dL", 1e-4, "m3"},
		{"mol", 1, "mol"},
		{"mmol/L", 1, "mol.m-3"},
		{"m2", 1, "m2"},
		{"cm2", 1e-4, "m2"},
		{"cm.m", 1e-2, "m2"},
		{"m.cm", 1e-2, "m2"},
		{"g/m", 1, "g.m-1"},
		{"s-1", 1, "s-1"},
		{"/min", 1.0 / 60, "s-1"},
		{"g/(m.s)", 1, "g.m-1.s-1"},
		{"g/m.s", 1, "g.s.m-1"}, // UCUM reads left to right: (g/m).s
		{"mg/dL", 1e-3 / 1e-4, "g.m-3"},
		{"kg/m2", 1e3, "g.m-2"},
		{"{beats}/min", 1.0 / 60, "s-1"},
		{"mg{total}", 1e-3, "g"},
		{"1", 1, "1"},
		{"", 1, "1"},
		{"%", 0.01, "1"},
		{"10", 10, "1"},
		{"[in_i]", 0.0254, "m"},
		{"[lb_av]", 453.59237, "g"},
		{"K", 1, "K"},
		// calendar keywords are their UCUM twins, but for year and month
		{"week", 604800, "s"},
		{"millisecond", 1e-3, "s"},
		{"year", 1, "year"},
		{"month", 1, "month"},
		// refused: outside the table, or malformed
		{"Cel", 0, ""},
		{"[degF]", 0, ""},
		{"mm[Hg]", 0, ""},
		{"10*3/uL", 0, ""},
		{"[IU]", 0, ""},
		{"cd", 0, ""},   // candela is not read; d takes no prefix
		{"kmin", 0, ""}, // min takes no prefix
		{"m-", 0, ""},
		{"m10", 0, ""}, // exponent beyond ±9
		{"g/", 0, ""},
		{"(g", 0, ""},
		{"g)", 0, ""},
		{"((((( g )))))", 0, ""},
		{"0", 0, ""},
		{"mg{x", 0, ""},
		{"[in_i", 0, ""},
		{strings.Repeat("m.", 40) + "m", 0, ""}, // beyond the length bound
	}
	for _, c := range cases {
		u, ok := unitOf(c.unit)
		if ok != (c.key != "") {
			t.Errorf("unitOf(%q) ok = %v, want %v", c.unit, ok, c.key != "")
			continue
		}
		if !ok {
			continue
		}
		if u.key() != c.key || math.Abs(u.f-c.f) > 1e-12*c.f {
			t.Errorf("unitOf(%q) = %g %s, want %g %s", c.unit, u.f, u.key(), c.f, c.key)
		}
	}
}

// TestQuantityUnits: '=', '~', ordering, toQuantity(unit) and arithmetic
// across units of one dimension.
func TestQuantityUnits(t *testing.T) {
	res := mustDecode(t, `{"resourceType":"Observation","id":"q1","status":"final",
	 "code":{"text":"weight"},"valueQuantity":{"value":70.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"}}`)
	cases := []struct{ expr, want string }{
		{"4 'g' = 4000 'mg'", "true"},
		{"4 'g' = 4040 'mg'", "false"},
		{"4 'g' ~ 4040 'mg'", "true"},   // 4 g is precise to 1 g
		{"4.0 'g' ~ 4040 'mg'", "true"}, // 4.0 g is precise to 0.1 g: 4.04 rounds to 4.0
		{"4.0 'g' ~ 4060 'mg'", "false"},
		{"4.00 'g' ~ 4040 'mg'", "false"},
		{"4040 'mg' ~ 4 'g'", "true"},
		{"4.5 'g' ~ 4 'g'", "false"},
		{"1 'kg' = 1000 'g'", "true"},
		{"1 'kg' > 999 'g'", "true"},
		{"1 'm' = 100 'cm'", "true"},
		{"1 'm' = 1000 'mm'", "true"},
		{"1.5 'm' ~ 151 'cm'", "true"},
		{"1.5 'm' ~ 156 'cm'", "false"},
		{"2 'm' ~ 151 'cm'", "true"},
		{"1 'h' = 60 'min'", "true"},
		{"1 'min' = 60000 'ms'", "true"},
		{"1 'min' ~ 61 's'", "true"},
		{"1 'min' ~ 95 's'", "false"},
		{"7 days = 1 'wk'", "true"},
		{"1 'a' = 12 'mo'", "true"},
		{"1 'L' = 1000 'mL'", "true"},
		{"1 'L' = 1 'dm3'", "true"},
		{"5.5 'mmol/L' = 5500 'umol/L'", "true"},
		{"100 'mg/dL' = 1 'g/L'", "true"},
		{"2.0 'cm' * 2.0 'm' = 0.040 'm2'", "true"},
		{"2.0 'cm' * 2.0 'm'", "4 'cm.m'"},
		{"(4 'g' / 2 'm') / 2 's' = 1 'g/(m.s)'", "true"},
		{"4 'g' / (2 'm' * 2 's') = 1 'g/(m.s)'", "true"},
		{"4 'g' / (2 'm' * 2 's')", "1 'g/(m.s)'"},
		{"1 'g' + 500 'mg'", "1.5 'g'"},
		{"500 'mg' + 1 'g'", "1500 'mg'"},
		{"1 'L' + 1 'mL'", "1.001 'L'"},
		{"1 'h' - 30 'min'", "0.5 'h'"},
		{"1 'Cel' + 1 'Cel'", "2 'Cel'"},
		{"1 'Cel' + 1 'K'", ""},
		{"1 'g' + 1 'm'", ""},
		{"1 'g' = 1 'm'", "false"},
		{"1 'g' ~ 1 'm'", "false"},
		{"1 'g' < 1 'm'", ""},
		{"1 'mg' = 1 'Cel'", "false"},
		{"1 'Cel' = 1 'Cel'", "true"},
		{"1 'Cel' ~ 1.2 'Cel'", "true"},
		{"1 year = 1 'a'", ""}, // calendar year and UCUM year: undefined
		{"1 'a' ~ 1 year", "false"},
		{"1 year = 12 'mo'", "false"},
		{"value = 70500 'g'", "true"},
		{"value ~ 70.5 'kg'", "true"},
		{"value ~ 70510 'g'", "false"}, // 70.50 kg is precise to 10 g
		{"value.toString()", "70.50 'kg'"},
		{"value.toQuantity('g')", "70500 'g'"},
		{"value.toQuantity('[lb_av]') > 155 '[lb_av]'", "true"},
		{"value.toQuantity('m')", ""},
		{"value.comparable(1 'mg')", "true"},
		{"value.comparable(1 'm')", "false"},
		{"4.0 'g'", "4.0 'g'"},
		{"1.50.toQuantity()", "1.50 '1'"},
		{"1.50.toQuantity() ~ 1.54 '1'", "false"},
		{"1.5.toQuantity() ~ 1.54 '1'", "true"},
		{`'2.50 \'mg\''.toQuantity()`, "2.50 'mg'"},
	}
	for _, c := range cases {
		got, err := evalStrings(t, res, nil, c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if g := strings.Join(got, "|"); g != c.want {
			t.Errorf("%s = %q, want %q", c.expr, g, c.want)
		}
	}
}

// FuzzParseUCUM: reading a unit never panics, takes bounded time, and what
// it accepts is a finite, positive factor with a named dimension that
// divides out to nothing.
func FuzzParseUCUM(f *testing.F) {
	for _, s := range []string{"g", "mg/dL", "g/(m.s)", "{beats}/min", "cm2", "[in_i]", "10*3/uL", "s-1", "((m))", "m-", "mg{x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseUCUM(s)
		if !ok {
			return
		}
		if u.f <= 0 || math.IsInf(u.f, 0) || math.IsNaN(u.f) || u.key() == "" {
			t.Fatalf("parseUCUM(%q) = %+v", s, u)
		}
		if q := u.mul(u, -1); q.key() != "1" {
			t.Fatalf("%q / itself has dimension %s", s, q.key())
		}
		a := Item{k: kQty, f: 1, s: s}
		b := Item{k: kQty, f: 1, s: "g"}
		equalItems(a, b)
		equivQuantities(a, b)
		if eq, ok := equalItems(a, a); !eq || !ok {
			t.Fatalf("1 %q is not equal to itself", s)
		}
	})
}
