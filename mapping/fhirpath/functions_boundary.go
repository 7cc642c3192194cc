package fhirpath

import (
	"math/big"
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
			text := p.s
			if p.k != kDec || text == "" {
				if p.k == kInt {
					text = formatInt(p.i)
				} else {
					text = formatDec(p.f)
				}
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
			t, ok := parseTemporal(p.s, p.k)
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

func formatInt(i int64) string { return big.NewInt(i).String() }

// decBoundary returns the boundary of the decimal literal text at prec digits.
func decBoundary(text string, prec int, high bool) (string, bool) {
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return "", false
	}
	digits := 0
	if i := strings.IndexByte(text, '.'); i >= 0 {
		digits = len(text) - i - 1
	}
	half := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Mul(big.NewInt(2), pow10(digits)))
	if high {
		r.Add(r, half)
	} else {
		r.Sub(r, half)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(prec)))
	q, m := new(big.Int).DivMod(scaled.Num(), scaled.Denom(), new(big.Int))
	if high && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	// DivMod floors for positive denominators, as lowBoundary needs.
	neg := q.Sign() < 0
	s := new(big.Int).Abs(q).String()
	for len(s) <= prec {
		s = "0" + s
	}
	if prec > 0 {
		s = s[:len(s)-prec] + "." + s[len(s)-prec:]
	}
	if neg || (q.Sign() == 0 && r.Sign() < 0) {
		s = "-" + s
	}
	return s, true
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
	if prec < 0 {
		return t, false
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
