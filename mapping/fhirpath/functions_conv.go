package fhirpath

import (
	"strconv"
	"strings"
)

// convFn registers toX and convertsToX for a conversion.
func convFn(name string, conv func(p Item) (Item, bool)) {
	register("to"+name, 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		it, ok, err := singleton(in, "to"+name+"()")
		if err != nil || !ok {
			return nil, err
		}
		r, ok := conv(it.prim())
		if !ok {
			return nil, nil
		}
		return c.one(r), nil
	})
	register("convertsTo"+name, 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		it, ok, err := singleton(in, "convertsTo"+name+"()")
		if err != nil || !ok {
			return nil, err
		}
		_, ok = conv(it.prim())
		return boolColl(ok), nil
	})
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimalText accepts [+-]digits[.digits].
func isDecimalText(s string) bool {
	s = strings.TrimLeft(s, "+-")
	ip, fp, dot := strings.Cut(s, ".")
	return isDigits(ip) && (!dot || isDigits(fp))
}

func toBool(p Item) (Item, bool) {
	switch p.k {
	case kBool:
		return p, true
	case kInt:
		if p.i == 0 || p.i == 1 {
			return Boolean(p.i == 1), true
		}
	case kDec:
		if p.f == 0 || p.f == 1 {
			return Boolean(p.f == 1), true
		}
	case kStr:
		switch strings.ToLower(p.s) {
		case "true", "t", "yes", "y", "1", "1.0":
			return Boolean(true), true
		case "false", "f", "no", "n", "0", "0.0":
			return Boolean(false), true
		}
	}
	return Item{}, false
}

func toInt(p Item) (Item, bool) {
	switch p.k {
	case kInt:
		return p, true
	case kBool:
		return Integer(p.i), true
	case kStr:
		if isDigits(strings.TrimLeft(p.s, "+-")) && len(p.s)-len(strings.TrimLeft(p.s, "+-")) <= 1 {
			if n, err := strconv.ParseInt(p.s, 10, 64); err == nil {
				return Integer(n), true
			}
		}
	}
	return Item{}, false
}

func toDec(p Item) (Item, bool) {
	switch p.k {
	case kDec:
		return p, true
	case kInt:
		return Decimal(float64(p.i)), true
	case kBool:
		return Decimal(float64(p.i)), true
	case kStr:
		if isDecimalText(p.s) {
			if f, err := strconv.ParseFloat(p.s, 64); err == nil {
				return Item{k: kDec, f: f, s: strings.TrimPrefix(p.s, "+")}, true
			}
		}
	}
	return Item{}, false
}

func toStr(p Item) (Item, bool) {
	if p.k == kNode {
		return Item{}, false
	}
	s, ok := p.AsString()
	return String(s), ok
}

func toTemporal(k kind) func(p Item) (Item, bool) {
	return func(p Item) (Item, bool) {
		switch {
		case p.k == k:
			return p, true
		case p.k == kDateTime && k == kDate:
			t, ok := parseTemporal(p.s, kDateTime)
			if !ok {
				return Item{}, false
			}
			t.k, t.prec, t.hasTZ = kDate, min(t.prec, pDay), false
			return Item{k: kDate, s: t.format()}, true
		case p.k == kDate && k == kDateTime:
			return Item{k: kDateTime, s: p.s}, true
		case p.k == kStr:
			if _, ok := parseTemporal(p.s, k); ok {
				return Item{k: k, s: p.s}, true
			}
			if k == kDate {
				return toTemporal(kDate)(Item{k: kDateTime, s: p.s})
			}
		}
		return Item{}, false
	}
}

func toQty(p Item) (Item, bool) {
	switch p.k {
	case kQty:
		return p, true
	case kInt:
		return Item{k: kQty, f: numOf(p), s: "1"}, true
	case kDec:
		return Item{k: kQty, f: p.f, s: "1", key: p.s}, true // key: the digits as written
	case kBool:
		return Item{k: kQty, f: float64(p.i), s: "1"}, true
	case kStr:
		num, unit, _ := strings.Cut(strings.TrimSpace(p.s), " ")
		if !isDecimalText(num) {
			return Item{}, false
		}
		unit = strings.TrimSpace(unit)
		switch {
		case unit == "":
			unit = "1"
		case len(unit) >= 2 && unit[0] == '\'' && unit[len(unit)-1] == '\'':
			unit = unit[1 : len(unit)-1]
		default:
			if _, ok := calendarUnits[unit]; !ok {
				return Item{}, false
			}
		}
		return parseQuantityText(num, unit)
	}
	return Item{}, false
}

func init() {
	convFn("Boolean", toBool)
	convFn("Integer", toInt)
	convFn("Decimal", toDec)
	convFn("String", toStr)
	convFn("Date", toTemporal(kDate))
	convFn("DateTime", toTemporal(kDateTime))
	convFn("Time", toTemporal(kTime))
	convFn("Quantity", toQty)
	// toQuantity(unit) / convertsToQuantity(unit): same unit or simple scale.
	for _, name := range []string{"toQuantity", "convertsToQuantity"} {
		conv := name == "toQuantity"
		plain := functions[name].fn
		register(name, 0, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
			if len(cl.args) == 0 {
				return plain(c, in, outer, cl)
			}
			it, ok, err := singleton(in, name+"()")
			if err != nil || !ok {
				return nil, err
			}
			unit, ok, err := strArg(c, cl, 0, outer)
			if err != nil || !ok {
				return nil, err
			}
			q, ok := toQty(it.prim())
			if ok && q.s != unit {
				v, d := qtyNorm(q)
				u, ok2 := unitOf(unit)
				if ok2 && u.key() == d {
					q = Item{k: kQty, f: round15(v / u.f), s: unit}
				} else {
					ok = false
				}
			}
			if !conv {
				return boolColl(ok), nil
			}
			if !ok {
				return nil, nil
			}
			return c.one(q), nil
		})
	}
}
