package fhirpath

import (
	"math/big"
	"strings"
	"testing"
)

// TestDecimalBoundary pins lowBoundary/highBoundary on decimals, around
// zero above all: the end of the interval nearer zero is truncated, the end
// farther from zero rounded, and the input's sign kept.
func TestDecimalBoundary(t *testing.T) {
	res := mustDecode(t, miniPatient)
	cases := []struct{ expr, want string }{
		{"1.587.lowBoundary(2)", "1.58"},
		{"1.587.highBoundary(2)", "1.59"},
		{"(-1.587).lowBoundary(2)", "-1.59"},
		{"(-1.587).highBoundary(2)", "-1.58"},
		{"1.587.lowBoundary()", "1.58650000"},
		{"0.0034.lowBoundary(1)", "0.0"},
		{"0.0034.highBoundary(1)", "0.0"}, // 0.00345 rounds to 0.0, not up to 0.1
		{"0.0034.highBoundary(4)", "0.0035"},
		{"0.0034.highBoundary(5)", "0.00345"},
		{"(-0.0034).lowBoundary(1)", "-0.0"}, // a negative input keeps its sign
		{"(-0.0034).highBoundary(1)", "-0.0"},
		{"(-0.0034).lowBoundary(5)", "-0.00345"},
		{"-0.0034.highBoundary(1)", "0.0"}, // -(0.0034.highBoundary(1)): negated zero
		{"0.96.highBoundary(1)", "1.0"},    // rounding carries into the units
		{"(-0.96).lowBoundary(1)", "-1.0"},
		{"9.99.highBoundary(0)", "10"},
		{"0.0.lowBoundary(1)", "-0.1"}, // zero spreads to both sides, away from zero
		{"0.0.highBoundary(1)", "0.1"},
		{"0.00.lowBoundary(1)", "-0.0"},
		{"0.lowBoundary(0)", "-1"},
		{"0.highBoundary()", "0.50000000"},
		{"1.lowBoundary(0)", "0"},
		{"1.highBoundary(0)", "2"},
		{"-120.highBoundary(2)", "-120.50"},
		{"1.587.lowBoundary(28)", "1.5865000000000000000000000000"},
		{"1.587.lowBoundary(29)", ""},
		{"1.587.lowBoundary(-1)", ""},
		{"1.587 'cm'.highBoundary(2)", "1.59 'cm'"},
		{"(-0.0034 'g').lowBoundary(1)", "-0.0 'g'"},
		{"-(1.587 'cm'.lowBoundary(8))", "-1.58650000 'cm'"},
		{"(0.0034 'g'.lowBoundary(1)).highBoundary(1)", "0.1 'g'"},
		{"(-1.587 'cm').lowBoundary(8).abs()", "1.58750000 'cm'"},
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

// TestUnaryMinusZero: zero has no sign, so negating it gives 0.0, and the
// value compares equal either way.
func TestUnaryMinusZero(t *testing.T) {
	res := mustDecode(t, miniPatient)
	cases := []struct{ expr, want string }{
		{"-0.0", "0.0"},
		{"-(0.0)", "0.0"},
		{"-(-0.0)", "0.0"},
		{"-(-1.50)", "1.50"},
		{"-1.50", "-1.50"},
		{"-0.0 = 0.0", "true"},
		{"(-0.0).toString()", "0.0"},
		{"-0 'mg'", "0 'mg'"},
		{"-(2.5 'mg')", "-2.5 'mg'"},
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

// TestDecBoundaryText covers decimal texts only FHIR JSON brings (an
// exponent) and the bound on the exponent.
func TestDecBoundaryText(t *testing.T) {
	cases := []struct {
		text       string
		prec       int
		high       bool
		want       string
		refuseText bool
	}{
		{text: "1.5e1", prec: 2, want: "14.50"},
		{text: "1.5E1", prec: 2, high: true, want: "15.50"},
		{text: "15e-3", prec: 5, want: "0.01450"},
		{text: "-15e-3", prec: 5, want: "-0.01550"},
		{text: "2.50e+1", prec: 2, high: true, want: "25.05"},
		{text: "-0.0", prec: 2, want: "-0.05"},
		{text: "1e-401", prec: 2, refuseText: true},
		{text: "1e401", prec: 2, refuseText: true},
		{text: "1ex", prec: 2, refuseText: true},
		{text: "abc", prec: 2, refuseText: true},
		{text: "0." + strings.Repeat("1", 98), prec: 2, want: "0.11"},
		{text: "0." + strings.Repeat("1", 99), prec: 2, refuseText: true},
	}
	for _, c := range cases {
		got, ok := decBoundary(c.text, c.prec, c.high)
		if ok == c.refuseText || got != c.want {
			t.Errorf("decBoundary(%q, %d, %v) = %q, %v; want %q, %v", c.text, c.prec, c.high, got, ok, c.want, !c.refuseText)
		}
	}
}

// TestTemporalBoundaryOfElements: a FHIR dateTime holding only a date is a
// DateTime for lowBoundary/highBoundary (17 digits by default, a time and
// zone added), while a FHIR date stays a Date.
func TestTemporalBoundaryOfElements(t *testing.T) {
	res := mustDecode(t, `{"resourceType":"Patient","id":"b1","birthDate":"1980-02-29",
	 "identifier":[
	  {"system":"urn:a","period":{"start":"2001-05-06","end":"2001-05-06T10:10:10Z"}},
	  {"system":"urn:b","period":{"start":"2012","end":"2012-02"}},
	  {"system":"urn:c","period":{"start":"2004","end":"2002"}},
	  {"system":"urn:d","period":{"start":"2001-05-06T10:00:00+02:00"}}]}`)
	cases := []struct{ expr, want string }{
		{"identifier[0].period.start.lowBoundary()", "2001-05-06T00:00:00.000+14:00"},
		{"identifier[0].period.start.highBoundary()", "2001-05-06T23:59:59.999-12:00"},
		{"identifier[0].period.start.lowBoundary(8)", "2001-05-06"},
		{"identifier[0].period.start.lowBoundary().is(DateTime)", "true"},
		{"identifier[0].period.start.lowBoundary(8).is(Date)", "true"},
		{"identifier[1].period.start.highBoundary()", "2012-12-31T23:59:59.999-12:00"},
		{"identifier[1].period.end.highBoundary(6)", "2012-02"},
		{"identifier[3].period.start.lowBoundary()", "2001-05-06T10:00:00.000+02:00"},
		// the widest zones make a year's boundaries overlap the next year's
		{"@2003T.lowBoundary(17) < @2002T.highBoundary(17)", "true"},
		{"@2003.lowBoundary(17)", ""}, // a Date holds no time
		{"birthDate.highBoundary(10)", ""},
		{"birthDate.highBoundary()", "1980-02-29"},
		{"birthDate.lowBoundary(6)", "1980-02"},
		{"birthDate.lowBoundary().is(Date)", "true"},
		{"@2001-05-06.lowBoundary()", "2001-05-06"},
		{"identifier.period.select(start.empty() or end.empty() or (start.lowBoundary() < end.highBoundary()))", "true|true|false|true"},
		{"identifier.period.all(start.empty() or end.empty() or (start.lowBoundary() < end.highBoundary()))", "false"},
		{"identifier.take(2).period.all(start.empty() or end.empty() or (start.lowBoundary() < end.highBoundary()))", "true"},
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

// FuzzDecBoundary: a decimal text from a resource never makes a boundary
// panic, and what comes out is a number with prec digits, low never above
// high.
func FuzzDecBoundary(f *testing.F) {
	for _, s := range []string{"1.587", "-0.0034", "0", "0.00", "1e-3", "-15E+2", "9.99", "abc", "1e999"} {
		f.Add(s, uint8(2))
	}
	f.Fuzz(func(t *testing.T, text string, p uint8) {
		prec := int(p % 29)
		lo, ok1 := decBoundary(text, prec, false)
		hi, ok2 := decBoundary(text, prec, true)
		if ok1 != ok2 {
			t.Fatalf("%q: low ok %v, high ok %v", text, ok1, ok2)
		}
		if !ok1 {
			return
		}
		l, okl := new(big.Rat).SetString(lo)
		h, okh := new(big.Rat).SetString(hi)
		if !okl || !okh || l.Cmp(h) > 0 {
			t.Fatalf("%q at %d: low %q, high %q", text, prec, lo, hi)
		}
		for _, b := range []string{lo, hi} {
			d := 0
			if i := strings.IndexByte(b, '.'); i >= 0 {
				d = len(b) - i - 1
			}
			if d != prec {
				t.Fatalf("%q at %d: boundary %q has %d digits", text, prec, b, d)
			}
		}
	})
}
