package fhirpath

import (
	"math/big"
	"strconv"
	"strings"
	"time"
)

// boundaryFn implements lowBoundary / highBoundary.
func boundaryFn(high bool) fnImpl {
	return func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		it, ok, err := singleton(in, cl.name+"()")
		if err != nil || !ok {
			return nil, err
		}
		p := it.prim()
		prec := int64(-1)
		if len(cl.args) > 0 {
			if prec, err = intArg(c, cl, 0, outer); err != nil {
				return nil, err
			}
			if prec < 0 {
				return nil, nil
			}
		}
		switch p.k {
		case kInt, kDec, kQty:
			if prec < 0 {
				prec = 8
			}
			if prec > 28 {
				return nil, nil
			}
			var text string // the number as written, its precision with it
			switch {
			case p.k == kInt:
				text = formatInt(p.i)
			case p.k == kDec && p.s != "":
				text = p.s
			case p.k == kQty && p.key != "":
				text = p.key // the digits as written
			default:
				text = formatDec(p.f)
			}
			s, ok := decBoundary(text, int(prec), high)
			if !ok {
				return nil, nil
			}
			if p.k == kQty {
				r, _ := parseQuantityText(s, p.s)
				return c.one(Item{k: kQty, f: r.f, s: p.s, key: s}), nil
			}
			r, _ := parseNumber(s)
			return c.one(Item{k: kDec, f: numOf(r), s: s}), nil
		case kDate, kDateTime, kTime:
			t, ok := parseTemporal(p.s, temporalKind(it, p))
			if !ok {
				return nil, nil
			}
			r, ok := dateBoundary(t, int(prec), high)
			if !ok {
				return nil, nil
			}
			return c.one(Item{k: r.k, s: r.format()}), nil
		}
		return nil, evalError(cl.name + "() expects a number or date/time")
	}
}

// temporalKind gives the FHIRPath type a boundary starts from. A FHIR
// dateTime or instant holding only a date reads as a Date elsewhere (it
// compares as one), but it is a DateTime: its boundaries default to 17
// digits and carry a time and zone, as Period.start.lowBoundary() needs.
func temporalKind(it, p Item) kind {
	if p.k == kDate && it.k == kNode {
		if tn := it.TypeName(); tn == "dateTime" || tn == "instant" {
			return kDateTime
		}
	}
	return p.k
}

func formatInt(i int64) string { return big.NewInt(i).String() }

// decBoundary returns the boundary of the decimal literal text at prec
// digits. A decimal stands for every value that rounds to it: text with d
// digits after the point covers its value ± half a unit of the d-th digit.
// The boundary is computed on the magnitude and carries the input's sign,
// as the official FHIRPath suite expects: the end of that interval nearer
// zero is truncated to prec digits, the end farther from zero is rounded
// half away from zero. So 1.587.lowBoundary(2) is 1.58 and
// 1.587.highBoundary(2) is 1.59, 0.0034.highBoundary(1) is 0.0 (not 0.1),
// and (-0.0034).lowBoundary(1) is -0.0: the sign of a negative input stays
// even where the digits kept are all zero. Zero itself spreads to both
// sides, each end rounded away from zero.
func decBoundary(text string, prec int, high bool) (string, bool) {
	digits, ok := decimalDigits(text)
	if !ok {
		return "", false
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return "", false
	}
	neg := r.Sign() < 0
	r.Abs(r)
	half := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Mul(big.NewInt(2), pow10(digits)))
	var q *big.Int
	switch {
	case r.Sign() == 0:
		// 0 covers -half .. +half; both ends lie away from zero.
		q = roundScaled(half, prec, true)
		neg = !high
	case high != neg:
		// highBoundary of a positive, lowBoundary of a negative: away from zero.
		q = roundScaled(r.Add(r, half), prec, true)
	default:
		q = roundScaled(r.Sub(r, half), prec, false)
	}
	s := q.String()
	for len(s) <= prec {
		s = "0" + s
	}
	if prec > 0 {
		s = s[:len(s)-prec] + "." + s[len(s)-prec:]
	}
	if neg {
		s = "-" + s
	}
	return s, true
}

// decimalDigits counts the digits a decimal text states after the point,
// an exponent included: 1.50 has 2, 1.5e1 has 0, 15e-3 has 3. It refuses
// a text longer than maxDecimalText or an exponent beyond
// ±maxDecimalExponent, whose arithmetic would be huge.
func decimalDigits(text string) (int, bool) {
	if len(text) > maxDecimalText {
		return 0, false
	}
	mant, exp := text, 0
	if i := strings.IndexAny(text, "eE"); i >= 0 {
		mant = text[:i]
		e, err := strconv.Atoi(strings.TrimPrefix(text[i+1:], "+"))
		if err != nil || e > maxDecimalExponent || e < -maxDecimalExponent {
			return 0, false
		}
		exp = e
	}
	digits := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = len(mant) - i - 1
	}
	return max(digits-exp, 0), true
}

// Bounds on a decimal text decBoundary and '~' read: float64 values reach
// about 10^±324, and no FHIR decimal needs a hundred digits.
const (
	maxDecimalExponent = 400
	maxDecimalText     = 100
)

// roundScaled returns the non-negative r scaled by 10^prec and cut to an
// integer: rounded half up when round is set, truncated otherwise.
func roundScaled(r *big.Rat, prec int, round bool) *big.Int {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(prec)))
	q, m := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	if round && new(big.Int).Lsh(m, 1).Cmp(scaled.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// dateBoundary fills a temporal value to the precision given in digits.
func dateBoundary(t temporal, digits int, high bool) (temporal, bool) {
	var table []int // digits per precision step
	if t.k == kTime {
		table = []int{0, 0, 0, 0, 2, 4, 6, 9}
		if digits < 0 {
			digits = 9
		}
	} else {
		table = []int{0, 4, 6, 8, 10, 12, 14, 17}
		if digits < 0 {
			digits = 17
			if t.k == kDate {
				digits = 8
			}
		}
	}
	prec := -1
	for p, d := range table {
		if d == digits && d != 0 {
			prec = p
		}
	}
	if prec < 0 || (t.k == kDate && prec > pDay) {
		return t, false // a Date holds no time: more than 8 digits is empty
	}
	if t.prec == pHour {
		t.prec = pMinute // T08 means 08:00
	}
	if high {
		if t.prec < pMonth {
			t.mo = 12
		}
		if t.prec < pDay {
			t.d = time.Date(t.y, time.Month(t.mo)+1, 0, 0, 0, 0, 0, time.UTC).Day()
		}
		if t.prec < pHour {
			t.h = 23
		}
		if t.prec < pMinute {
			t.mi = 59
		}
		if t.prec < pSecond {
			t.s = 59
		}
		if t.prec < pMilli {
			t.ms = 999
		}
	}
	if t.k == kDateTime && !t.hasTZ && prec >= pHour {
		t.hasTZ, t.tz = true, 14*60
		if high {
			t.tz = -12 * 60
		}
	}
	if t.k == kDateTime && prec <= pDay {
		t.k, t.hasTZ = kDate, false
	}
	t.prec = prec
	return t, true
}

func init() {
	register("lowBoundary", 0, 1, boundaryFn(false))
	register("highBoundary", 0, 1, boundaryFn(true))
}
