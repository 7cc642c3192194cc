package fhirpath

import (
	"math"
	"strings"
)

// mathFn registers a function of one number.
func mathFn(name string, f func(it Item) (Item, bool)) {
	register(name, 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		it, ok, err := singleton(in, name+"()")
		if err != nil || !ok {
			return nil, err
		}
		p := it.prim()
		if !isNum(p.k) && !(p.k == kQty && name == "abs") {
			return nil, evalError(name + "() expects a number")
		}
		r, ok := f(p)
		if !ok {
			return nil, nil
		}
		return c.one(r), nil
	})
}

func decOK(f float64) (Item, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Item{}, false
	}
	return Decimal(round15(f)), true
}

func init() {
	mathFn("abs", func(it Item) (Item, bool) {
		if it.k == kInt {
			if it.i < 0 {
				it.i = -it.i
			}
			return it, true
		}
		it.f = math.Abs(it.f)
		if it.k == kDec {
			it.s = ""
		}
		it.key = strings.TrimPrefix(it.key, "-") // a quantity's digits as written
		return it, true
	})
	mathFn("ceiling", func(it Item) (Item, bool) { return Integer(int64(math.Ceil(numOf(it)))), true })
	mathFn("floor", func(it Item) (Item, bool) { return Integer(int64(math.Floor(numOf(it)))), true })
	mathFn("truncate", func(it Item) (Item, bool) { return Integer(int64(math.Trunc(numOf(it)))), true })
	mathFn("exp", func(it Item) (Item, bool) { return decOK(math.Exp(numOf(it))) })
	mathFn("ln", func(it Item) (Item, bool) { return decOK(math.Log(numOf(it))) })
	mathFn("sqrt", func(it Item) (Item, bool) { return decOK(math.Sqrt(numOf(it))) })
	register("log", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		return binMath(c, in, outer, cl, func(x, b Item) (Item, bool) {
			return decOK(math.Log(numOf(x)) / math.Log(numOf(b)))
		})
	})
	register("power", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		return binMath(c, in, outer, cl, func(x, e Item) (Item, bool) {
			r := math.Pow(numOf(x), numOf(e))
			if x.k == kInt && e.k == kInt && e.i >= 0 && math.Abs(r) < 1<<53 {
				return Integer(int64(r)), true
			}
			return decOK(r)
		})
	})
	register("round", 0, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		it, ok, err := singleton(in, "round()")
		if err != nil || !ok {
			return nil, err
		}
		p := it.prim()
		if !isNum(p.k) {
			return nil, evalError("round() expects a number")
		}
		prec := int64(0)
		if len(cl.args) > 0 {
			if prec, err = intArg(c, cl, 0, outer); err != nil {
				return nil, err
			}
			if prec < 0 {
				return nil, evalError("round() precision must not be negative")
			}
		}
		m := math.Pow(10, float64(prec))
		return c.one(Decimal(math.Round(numOf(p)*m) / m)), nil
	})
}

func binMath(c *ctx, in, outer Collection, cl *call, f func(x, y Item) (Item, bool)) (Collection, error) {
	it, ok, err := singleton(in, cl.name+"()")
	if err != nil || !ok {
		return nil, err
	}
	y, ok, err := cl.argItem(c, 0, outer)
	if err != nil || !ok {
		return nil, err
	}
	x := it.prim()
	if !isNum(x.k) || !isNum(y.k) {
		return nil, evalError(cl.name + "() expects numbers")
	}
	r, ok := f(x, y)
	if !ok {
		return nil, nil
	}
	return c.one(r), nil
}
