package fhirpath

import (
	"math"
	"strconv"
	"strings"
)

// A partial UCUM (Unified Code for Units of Measure) reader, enough to
// compare quantities whose units differ by a metric prefix or a defined
// factor: 4 'g' ~ 4040 'mg', 2.0 'cm' * 2.0 'm' = 0.040 'm2',
// 1 'h' = 60 'min'. A unit is a product of powers of base dimensions
// with a factor; two quantities compare when their dimensions match. Units
// outside the table below (Cel, [degF], mm[Hg], eq, U, [IU], 10*3, …) are
// not read; a quantity in such a unit compares only with one in the very
// same unit text.

// Base dimensions. UCUM defines the mole as a number (6.0221367e23); here it
// is a dimension of its own, so mol never converts to a plain number.
// Calendar years and months are FHIRPath's, not UCUM's: they have no fixed
// length and compare only with themselves.
const (
	baseM = iota
	baseG
	baseS
	baseK
	baseMol
	baseYear
	baseMonth
	nBase
)

var baseNames = [nBase]string{"m", "g", "s", "K", "mol", "year", "month"}

// unitDef is a unit as factor × product of base dimensions to the powers
// in dim: cm is 0.01 m, L is 0.001 m3, min is 60 s.
type unitDef struct {
	f   float64
	dim [nBase]int
}

// key names the dimension as a UCUM expression of base units, positive
// powers first ("g", "m2", "g.m-3", "1" for none): two units with the same
// key convert.
func (u unitDef) key() string {
	var parts []string
	for _, positive := range []bool{true, false} {
		for i, e := range u.dim {
			switch {
			case e == 0 || (e > 0) != positive:
			case e == 1:
				parts = append(parts, baseNames[i])
			default:
				parts = append(parts, baseNames[i]+strconv.Itoa(e))
			}
		}
	}
	if len(parts) == 0 {
		return "1"
	}
	return strings.Join(parts, ".")
}

func (u unitDef) mul(v unitDef, sign int) unitDef {
	if sign < 0 {
		u.f /= v.f
	} else {
		u.f *= v.f
	}
	for i := range u.dim {
		u.dim[i] += sign * v.dim[i]
	}
	return u
}

func (u unitDef) pow(e int) unitDef {
	u.f = math.Pow(u.f, float64(e))
	for i := range u.dim {
		u.dim[i] *= e
	}
	return u
}

// ucumAtom is a unit symbol of the table; metric ones take a prefix.
type ucumAtom struct {
	f      float64
	base   int // -1: dimensionless
	pow    int
	metric bool
}

// ucumAtoms are the UCUM unit symbols read, with their UCUM definitions.
var ucumAtoms = map[string]ucumAtom{
	"m":   {1, baseM, 1, true},
	"g":   {1, baseG, 1, true},
	"s":   {1, baseS, 1, true},
	"K":   {1, baseK, 1, true},
	"mol": {1, baseMol, 1, true},
	"L":   {1e-3, baseM, 3, true}, // L = dm3
	"l":   {1e-3, baseM, 3, true},
	"min": {60, baseS, 1, false},
	"h":   {3600, baseS, 1, false},
	"d":   {86400, baseS, 1, false},
	"wk":  {604800, baseS, 1, false},
	"a":   {31557600, baseS, 1, false}, // a = a_j = 365.25 d
	"mo":  {2629800, baseS, 1, false},  // mo = mo_j = a_j/12
	"%":   {1e-2, -1, 0, false},
	// customary units the engine already read before this table
	"[in_i]":  {0.0254, baseM, 1, false},
	"[ft_i]":  {0.3048, baseM, 1, false},
	"[lb_av]": {453.59237, baseG, 1, false},
}

// ucumPrefixes are the UCUM metric prefixes.
var ucumPrefixes = map[string]float64{
	"Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6,
	"k": 1e3, "h": 1e2, "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6,
	"n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18, "z": 1e-21, "y": 1e-24,
}

// Bounds on the unit text read: its length, the nesting of parentheses,
// an exponent and an integer factor.
const (
	maxUnitLen    = 64
	maxUnitDepth  = 4
	maxUnitExp    = 9
	maxUnitFactor = 9 // digits
)

// unitOf reads the unit of a quantity: "" and "1" are dimensionless, the
// FHIRPath calendar keywords (singular, as quantities hold them) week … are
// their UCUM twins, year and month stay calendar units.
func unitOf(s string) (unitDef, bool) {
	one := unitDef{f: 1}
	switch s {
	case "", "1":
		return one, true
	case "year":
		one.dim[baseYear] = 1
		return one, true
	case "month":
		one.dim[baseMonth] = 1
		return one, true
	}
	if c, ok := calendarUCUM[s]; ok {
		s = c
	}
	return parseUCUM(s)
}

// parseUCUM reads a UCUM unit expression: terms joined by '.' and '/',
// left to right, each an atom with an optional metric prefix and integer
// exponent (cm2, s-1), an integer factor, a parenthesised expression or an
// annotation ({beats}, which is 1). ok is false for anything else.
func parseUCUM(s string) (unitDef, bool) {
	if s == "" || len(s) > maxUnitLen {
		return unitDef{}, false
	}
	r := ucumReader{s: s}
	u, ok := r.term(0)
	if !ok || r.i != len(s) || math.IsInf(u.f, 0) || u.f == 0 || math.IsNaN(u.f) {
		return unitDef{}, false
	}
	return u, true
}

type ucumReader struct {
	s string
	i int
}

func (r *ucumReader) term(depth int) (unitDef, bool) {
	u := unitDef{f: 1}
	sign := 1
	if r.i < len(r.s) && r.s[r.i] == '/' {
		sign = -1
		r.i++
	}
	for {
		c, ok := r.component(depth)
		if !ok {
			return u, false
		}
		u = u.mul(c, sign)
		if r.i >= len(r.s) || (r.s[r.i] != '.' && r.s[r.i] != '/') {
			return u, true
		}
		sign = 1
		if r.s[r.i] == '/' {
			sign = -1
		}
		r.i++
	}
}

func (r *ucumReader) component(depth int) (unitDef, bool) {
	one := unitDef{f: 1}
	if r.i >= len(r.s) {
		return one, false
	}
	switch c := r.s[r.i]; {
	case c == '(':
		if depth >= maxUnitDepth {
			return one, false
		}
		r.i++
		u, ok := r.term(depth + 1)
		if !ok || r.i >= len(r.s) || r.s[r.i] != ')' {
			return one, false
		}
		r.i++
		return u, true
	case c == '{':
		return one, r.annotation()
	case c >= '0' && c <= '9':
		j := r.i
		for j < len(r.s) && r.s[j] >= '0' && r.s[j] <= '9' {
			j++
		}
		if j-r.i > maxUnitFactor {
			return one, false
		}
		n, _ := strconv.Atoi(r.s[r.i:j])
		r.i = j
		one.f = float64(n)
		return one, n != 0
	}
	u, ok := r.symbol()
	if !ok {
		return u, false
	}
	if e, ok, present := r.exponent(); !ok {
		return u, false
	} else if present {
		u = u.pow(e)
	}
	if r.i < len(r.s) && r.s[r.i] == '{' {
		return u, r.annotation()
	}
	return u, true
}

// symbol reads an atom, perhaps prefixed: a bracketed one ([in_i]) or a run
// of letters and '%'.
func (r *ucumReader) symbol() (unitDef, bool) {
	j := r.i
	if r.s[j] == '[' {
		k := strings.IndexByte(r.s[j:], ']')
		if k < 0 {
			return unitDef{}, false
		}
		j += k + 1
	} else {
		for j < len(r.s) && (isASCIILetter(r.s[j]) || r.s[j] == '%') {
			j++
		}
	}
	name := r.s[r.i:j]
	r.i = j
	return atomUnit(name)
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// atomUnit resolves a symbol: an atom of the table, else a metric prefix
// followed by a metric atom (mg, dL, kmol, dam).
func atomUnit(name string) (unitDef, bool) {
	if a, ok := ucumAtoms[name]; ok {
		return a.unit(1), true
	}
	for _, n := range []int{2, 1} {
		if len(name) <= n {
			continue
		}
		p, ok := ucumPrefixes[name[:n]]
		if !ok {
			continue
		}
		if a, ok := ucumAtoms[name[n:]]; ok && a.metric {
			return a.unit(p), true
		}
	}
	return unitDef{}, false
}

func (a ucumAtom) unit(prefix float64) unitDef {
	// The prefix scales the atom before any exponent: cm2 is (0.01 m)2.
	u := unitDef{f: a.f * prefix}
	if a.base >= 0 {
		u.dim[a.base] = a.pow
	}
	return u
}

// exponent reads an optional signed integer exponent.
func (r *ucumReader) exponent() (e int, ok, present bool) {
	j := r.i
	if j < len(r.s) && (r.s[j] == '+' || r.s[j] == '-') {
		j++
	}
	k := j
	for k < len(r.s) && r.s[k] >= '0' && r.s[k] <= '9' {
		k++
	}
	if k == j {
		return 0, j == r.i, false // a sign with no digits is an error
	}
	e, err := strconv.Atoi(r.s[r.i:k])
	if err != nil || e > maxUnitExp || e < -maxUnitExp {
		return 0, false, true
	}
	r.i = k
	return e, true, true
}

// annotation skips a {…} annotation, which UCUM counts as 1.
func (r *ucumReader) annotation() bool {
	k := strings.IndexByte(r.s[r.i:], '}')
	if k < 0 {
		return false
	}
	r.i += k + 1
	return true
}
