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
	return Item{k: kQty, f: f, s: unit}, true
}

// unitScale gives simple UCUM conversions to a base unit per dimension.
var unitScale = map[string]struct {
	dim string
	f   float64
}{
	"g": {"g", 1}, "mg": {"g", 1e-3}, "kg": {"g", 1e3}, "ug": {"g", 1e-6},
	"m": {"m", 1}, "[in_i]": {"m", 0.0254}, "[ft_i]": {"m", 0.3048}, "[lb_av]": {"g", 453.59237}, "cm": {"m", 1e-2}, "mm": {"m", 1e-3}, "km": {"m", 1e3},
	"L": {"L", 1}, "mL": {"L", 1e-3}, "dL": {"L", 1e-1},
	"s": {"s", 1}, "ms": {"s", 1e-3}, "min": {"s", 60}, "h": {"s", 3600}, "d": {"s", 86400}, "wk": {"s", 604800},
	"second": {"s", 1}, "millisecond": {"s", 1e-3}, "minute": {"s", 60}, "hour": {"s", 3600}, "day": {"s", 86400}, "week": {"s", 604800},
	"year": {"year", 1}, "month": {"month", 1}, "a": {"a", 1}, "mo": {"mo", 1},
}

// qtyNorm converts a quantity to its base unit; ok is false for unknown units.
func qtyNorm(q Item) (float64, string) {
	if u, ok := unitScale[q.s]; ok {
		return q.f * u.f, u.dim
	}
	if q.s == "" {
		return q.f, "1"
	}
	return q.f, q.s
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
			if calendarPair(au, bu) {
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
		eq, ok := equalItems(pa, pb)
		return eq && ok
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

// calendarPair reports a calendar year/month against the UCUM a/mo, whose
// equality is undefined.
func calendarPair(a, b string) bool {
	return (a == "year" && b == "a") || (a == "a" && b == "year") || (a == "month" && b == "mo") || (a == "mo" && b == "month")
}
