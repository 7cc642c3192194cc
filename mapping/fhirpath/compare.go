package fhirpath

import (
	"math"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// parseNumber reads an Integer or Decimal literal.
func parseNumber(s string) (Item, bool) {
	if isIntLiteral(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return Integer(n), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Item{}, false
	}
	return Item{k: kDec, f: f, s: s}, true
}

// parseQuantityText builds a quantity from a number and unit text.
func parseQuantityText(num, unit string) (Item, bool) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return Item{}, false
	}
	if u, ok := calendarUnits[unit]; ok {
		unit = u
	}
	return Item{k: kQty, f: f, s: unit, key: num}, true // key: the digits as written
}

// qtyNorm converts a quantity to the base units of its dimension (ucum.go)
// and names that dimension; a unit the UCUM reader does not know is its own
// dimension, "?" and its text, so it compares only with the same text.
func qtyNorm(q Item) (float64, string) {
	u, ok := unitOf(q.s)
	if !ok {
		return q.f, "?" + q.s
	}
	return q.f * u.f, u.key()
}

func isNum(k kind) bool  { return k == kInt || k == kDec }
func isTemp(k kind) bool { return k == kDate || k == kDateTime || k == kTime }

func numOf(it Item) float64 {
	if it.k == kInt {
		return float64(it.i)
	}
	return it.f
}

// temporalOf parses a temporal or string item as kind k (or its own kind).
func temporalOf(it Item, k kind) (temporal, bool) {
	if isTemp(it.k) {
		return parseTemporal(it.s, it.k)
	}
	if it.k == kStr {
		if k == kDate && strings.Contains(it.s, "T") {
			k = kDateTime
		}
		return parseTemporal(it.s, k)
	}
	return temporal{}, false
}

// equalItems implements '=' on two items; ok false means empty.
func equalItems(a, b Item) (eq, ok bool) {
	if a.k == kNode && b.k == kNode && a.n != nil && b.n != nil && a.n.Kind == fhir.Object && b.n.Kind == fhir.Object {
		return deepEqual(a.n, b.n), true
	}
	if a.k >= kV2Msg || b.k >= kV2Msg {
		// HL7 v2 positions: equal when they are the same place
		return a.k == b.k && a.i == b.i && a.idx == b.idx, true
	}
	a, b = a.prim(), b.prim()
	switch {
	case a.k == kNode || b.k == kNode:
		if a.k == kNode && b.k == kNode && a.n != nil && b.n != nil {
			return deepEqual(a.n, b.n), true
		}
		return false, true
	case a.k == kInt && b.k == kInt:
		return a.i == b.i, true
	case isNum(a.k) && isNum(b.k):
		return numOf(a) == numOf(b), true
	case a.k == kStr && b.k == kStr:
		return a.s == b.s, true
	case a.k == kBool && b.k == kBool:
		return a.i == b.i, true
	case isTemp(a.k) || isTemp(b.k):
		k := a.k
		if !isTemp(k) {
			k = b.k
		}
		ta, ok1 := temporalOf(a, k)
		tb, ok2 := temporalOf(b, k)
		if !ok1 || !ok2 || (ta.k == kTime) != (tb.k == kTime) {
			return false, true
		}
		c, ok := compareTemporal(ta, tb)
		return c == 0, ok
	case a.k == kQty && b.k == kQty:
		av, au := qtyNorm(a)
		bv, bu := qtyNorm(b)
		if au != bu {
			if calendarPair(a.s, b.s) {
				return false, false
			}
			return false, true
		}
		return math.Abs(av-bv) <= 1e-12*math.Max(math.Abs(av), math.Abs(bv)), true
	}
	return false, true
}

func deepEqual(a, b *fhir.Value) bool {
	if a.Kind != b.Kind || a.Str != b.Str || len(a.Items) != len(b.Items) || len(a.Members) != len(b.Members) {
		return false
	}
	for i := range a.Items {
		if !deepEqual(a.Items[i], b.Items[i]) {
			return false
		}
	}
	for i := range a.Members {
		bm := b.Get(a.Members[i].Key)
		if bm == nil || !deepEqual(a.Members[i].Value, bm) {
			return false
		}
	}
	return true
}

// decimals counts the digits after the point of a decimal literal.
func decimals(it Item) int {
	s := it.s
	if it.k == kInt || s == "" {
		if it.k == kInt {
			return 0
		}
		s = formatDec(it.f)
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

func normSpace(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// equivItems implements '~'.
func equivItems(a, b Item) bool {
	pa, pb := a.prim(), b.prim()
	switch {
	case pa.k == kStr && pb.k == kStr:
		return normSpace(pa.s) == normSpace(pb.s)
	case isNum(pa.k) && isNum(pb.k):
		d := min(decimals(pa), decimals(pb))
		p := math.Pow(10, float64(d))
		return math.Round(numOf(pa)*p) == math.Round(numOf(pb)*p)
	case isTemp(pa.k) || isTemp(pb.k):
		eq, ok := equalItems(pa, pb)
		return eq && ok
	case pa.k == kQty && pb.k == kQty:
		return equivQuantities(pa, pb)
	case pa.k == kNode && pb.k == kNode && pa.n != nil && pb.n != nil:
		return deepEqual(pa.n, pb.n)
	}
	eq, ok := equalItems(pa, pb)
	return eq && ok
}

// compareItems orders two items for < > <= >=; ok false means empty.
func compareItems(a, b Item) (int, bool, error) {
	a, b = a.prim(), b.prim()
	switch {
	case a.k == kInt && b.k == kInt:
		return cmp3(float64(a.i), float64(b.i)), true, nil
	case isNum(a.k) && isNum(b.k):
		return cmp3(numOf(a), numOf(b)), true, nil
	case a.k == kStr && b.k == kStr:
		return strings.Compare(a.s, b.s), true, nil
	case isTemp(a.k) || isTemp(b.k):
		k := a.k
		if !isTemp(k) {
			k = b.k
		}
		ta, ok1 := temporalOf(a, k)
		tb, ok2 := temporalOf(b, k)
		if !ok1 || !ok2 || (ta.k == kTime) != (tb.k == kTime) {
			return 0, false, evalError("cannot compare values of different types")
		}
		c, ok := compareTemporal(ta, tb)
		return c, ok, nil
	case a.k == kQty && b.k == kQty:
		av, au := qtyNorm(a)
		bv, bu := qtyNorm(b)
		if au != bu {
			return 0, false, nil
		}
		return cmp3(av, bv), true, nil
	}
	return 0, false, evalError("cannot compare values of different types")
}

func cmp3(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equivQuantities implements '~' on quantities: after conversion to the
// base units of their common dimension, the values are equal when rounded
// to the precision of the less precise one, as decimals are. 4 'g' is
// precise to 1 g and 4040 'mg' to 0.001 g, so both round to 4 g and are
// equivalent; 4.00 'g' ~ 4040 'mg' is false (4.00 against 4.04).
func equivQuantities(a, b Item) bool {
	av, au := qtyNorm(a)
	bv, bu := qtyNorm(b)
	if au != bu {
		return false
	}
	ra, ok1 := qtyResolution(a)
	rb, ok2 := qtyResolution(b)
	if !ok1 || !ok2 {
		eq, ok := equalItems(a, b)
		return eq && ok
	}
	r := math.Max(ra, rb)
	return math.Round(round15(av/r)) == math.Round(round15(bv/r))
}

// qtyResolution is the unit of the last digit a quantity states, in the
// base units of its dimension: 4040 'mg' gives 0.001 (g), 1.5 'h' 360 (s).
func qtyResolution(q Item) (float64, bool) {
	text := q.key
	if text == "" {
		text = formatDec(q.f)
	}
	d, ok := decimalDigits(text)
	if !ok {
		return 0, false
	}
	f := 1.0
	if u, ok := unitOf(q.s); ok {
		f = u.f
	}
	r := math.Pow(10, -float64(d)) * f
	return r, r > 0 && !math.IsInf(r, 0)
}

// calendarPair reports a calendar year/month against the UCUM a/mo, whose
// equality is undefined.
func calendarPair(a, b string) bool {
	return (a == "year" && b == "a") || (a == "a" && b == "year") || (a == "month" && b == "mo") || (a == "mo" && b == "month")
}
