package fhirpath

import (
	"math"
	"strings"
)

func (cp *compiler) binary(a *ast) (node, error) {
	l, err := cp.compile(a.args[0])
	if err != nil {
		return nil, err
	}
	r, err := cp.compile(a.args[1])
	if err != nil {
		return nil, err
	}
	op := a.name
	switch op {
	case "and", "or", "xor", "implies":
		return logicNode(op, l, r), nil
	case "|":
		// a union of literals, such as the list of `x in ('a' | 'b' | 'c')`,
		// is the same collection at every evaluation: made once here
		if u, ok := constUnion(a); ok {
			u = u[:len(u):len(u)] // a caller's append copies
			return func(*ctx, Collection) (Collection, error) { return u, nil }, nil
		}
	}
	var f func(c *ctx, x, y Collection) (Collection, error)
	switch op {
	case "=", "!=":
		neg := op == "!="
		f = func(c *ctx, x, y Collection) (Collection, error) {
			if len(x) == 0 || len(y) == 0 {
				return nil, nil
			}
			if len(x) != len(y) {
				return boolColl(neg), nil
			}
			for i := range x {
				eq, ok := equalItems(x[i], y[i])
				if !ok {
					return nil, nil
				}
				if !eq {
					return boolColl(neg), nil
				}
			}
			return boolColl(!neg), nil
		}
	case "~", "!~":
		neg := op == "!~"
		f = func(c *ctx, x, y Collection) (Collection, error) {
			return boolColl(equivColl(x, y) != neg), nil
		}
	case "<", ">", "<=", ">=":
		f = func(c *ctx, x, y Collection) (Collection, error) {
			a, ok1, err := singleton(x, "comparison")
			if err != nil {
				return nil, err
			}
			b, ok2, err := singleton(y, "comparison")
			if err != nil || !ok1 || !ok2 {
				return nil, err
			}
			n, ok, err := compareItems(a, b)
			if err != nil || !ok {
				return nil, err
			}
			switch op {
			case "<":
				return boolColl(n < 0), nil
			case ">":
				return boolColl(n > 0), nil
			case "<=":
				return boolColl(n <= 0), nil
			}
			return boolColl(n >= 0), nil
		}
	case "|":
		f = func(c *ctx, x, y Collection) (Collection, error) { return union(x, y), nil }
	case "in", "contains":
		f = func(c *ctx, x, y Collection) (Collection, error) {
			if op == "contains" {
				x, y = y, x
			}
			it, ok, err := singleton(x, "membership")
			if err != nil || !ok {
				return nil, err
			}
			return boolColl(containsItem(y, it)), nil
		}
	case "&":
		f = func(c *ctx, x, y Collection) (Collection, error) {
			a, _, err := singleton(x, "&")
			if err != nil {
				return nil, err
			}
			b, _, err := singleton(y, "&")
			if err != nil {
				return nil, err
			}
			as, _ := a.AsString()
			bs, _ := b.AsString()
			return c.one(String(as + bs)), nil
		}
	default:
		f = func(c *ctx, x, y Collection) (Collection, error) {
			a, ok1, err := singleton(x, op)
			if err != nil {
				return nil, err
			}
			b, ok2, err := singleton(y, op)
			if err != nil || !ok1 || !ok2 {
				return nil, err
			}
			res, ok, err := arith(op, a.prim(), b.prim())
			if err != nil || !ok {
				return nil, err
			}
			return c.one(res), nil
		}
	}
	return func(c *ctx, focus Collection) (Collection, error) {
		x, err := l(c, focus)
		if err != nil {
			return nil, err
		}
		y, err := r(c, focus)
		if err != nil {
			return nil, err
		}
		return f(c, x, y)
	}, nil
}

func equivColl(x, y Collection) bool {
	if len(x) != len(y) {
		return false
	}
	used := make([]bool, len(y))
outer:
	for _, a := range x {
		for j, b := range y {
			if !used[j] && equivItems(a, b) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func containsItem(col Collection, it Item) bool {
	for _, x := range col {
		if eq, ok := equalItems(x, it); ok && eq {
			return true
		}
	}
	return false
}

// constUnion returns the value of a, when a is a literal or a union of
// literals.
func constUnion(a *ast) (Collection, bool) {
	switch {
	case a.kind == aLit:
		return a.lit, true
	case a.kind == aBinary && a.name == "|":
		x, ok1 := constUnion(a.args[0])
		y, ok2 := constUnion(a.args[1])
		if ok1 && ok2 {
			return union(x, y), true
		}
	}
	return nil, false
}

// union merges x and y without duplicates.
func union(x, y Collection) Collection {
	out := make(Collection, 0, len(x)+len(y))
	for _, col := range [2]Collection{x, y} {
		for _, it := range col {
			if !containsItem(out, it) {
				out = append(out, it)
			}
		}
	}
	return out
}

// logicNode implements three-valued and/or/xor/implies.
func logicNode(op string, l, r node) node {
	return func(c *ctx, focus Collection) (Collection, error) {
		x, err := l(c, focus)
		if err != nil {
			return nil, err
		}
		a, ka, err := boolOf(x, op)
		if err != nil {
			return nil, err
		}
		// short circuits
		switch {
		case op == "and" && ka && !a:
			return falseColl, nil
		case op == "or" && ka && a:
			return trueColl, nil
		case op == "implies" && ka && !a:
			return trueColl, nil
		}
		y, err := r(c, focus)
		if err != nil {
			return nil, err
		}
		b, kb, err := boolOf(y, op)
		if err != nil {
			return nil, err
		}
		switch op {
		case "and":
			if kb && !b {
				return falseColl, nil
			}
			if ka && kb {
				return trueColl, nil
			}
		case "or":
			if kb && b {
				return trueColl, nil
			}
			if ka && kb {
				return falseColl, nil
			}
		case "xor":
			if ka && kb {
				return boolColl(a != b), nil
			}
		case "implies":
			if kb && b {
				return trueColl, nil
			}
			if ka && kb {
				return falseColl, nil
			}
		}
		return nil, nil
	}
}

// arith applies + - * / div mod to two primitives; ok false means empty.
func arith(op string, a, b Item) (Item, bool, error) {
	switch {
	case a.k == kInt && b.k == kInt && op != "/":
		switch op {
		case "+":
			return Integer(a.i + b.i), true, nil
		case "-":
			return Integer(a.i - b.i), true, nil
		case "*":
			return Integer(a.i * b.i), true, nil
		case "div":
			if b.i == 0 {
				return Item{}, false, nil
			}
			return Integer(a.i / b.i), true, nil
		case "mod":
			if b.i == 0 {
				return Item{}, false, nil
			}
			return Integer(a.i % b.i), true, nil
		}
	case isNum(a.k) && isNum(b.k):
		x, y := numOf(a), numOf(b)
		var r float64
		switch op {
		case "+":
			r = x + y
		case "-":
			r = x - y
		case "*":
			r = x * y
		case "/":
			if y == 0 {
				return Item{}, false, nil
			}
			r = x / y
		case "div":
			if y == 0 {
				return Item{}, false, nil
			}
			return Integer(int64(math.Trunc(x / y))), true, nil
		case "mod":
			if y == 0 {
				return Item{}, false, nil
			}
			r = math.Mod(x, y)
		}
		return Decimal(round15(r)), true, nil
	case a.k == kStr && b.k == kStr && op == "+":
		return String(a.s + b.s), true, nil
	case isTemp(a.k) && b.k == kQty && (op == "+" || op == "-"):
		t, ok := parseTemporal(a.s, a.k)
		if !ok {
			return Item{}, false, evalError("invalid date/time value")
		}
		v := b.f
		if op == "-" {
			v = -v
		}
		r, ok, err := addDuration(t, v, b.s)
		if err != nil {
			return Item{}, false, evalError(err.Error())
		}
		if !ok {
			return Item{}, false, evalError("date arithmetic needs a time-valued quantity")
		}
		return Item{k: a.k, s: r.format()}, true, nil
	case a.k == kQty && b.k == kQty && (op == "+" || op == "-"):
		av, au := qtyNorm(a)
		bv, bu := qtyNorm(b)
		if au != bu {
			return Item{}, false, nil
		}
		// The sum is in the left operand's unit: 1 'L' + 1 'mL' is 1.001 'L'.
		if ua, ok := unitOf(a.s); ok && a.s != b.s {
			av, bv = a.f, bv/ua.f
		} else {
			av, bv = a.f, b.f
		}
		if op == "-" {
			bv = -bv
		}
		return Item{k: kQty, f: round15(av + bv), s: a.s}, true, nil
	case a.k == kQty && isNum(b.k) && (op == "*" || op == "/"):
		if op == "/" {
			if numOf(b) == 0 {
				return Item{}, false, nil
			}
			return Item{k: kQty, f: round15(a.f / numOf(b)), s: a.s}, true, nil
		}
		return Item{k: kQty, f: round15(a.f * numOf(b)), s: a.s}, true, nil
	case a.k == kQty && b.k == kQty && (op == "*" || op == "/"):
		if op == "/" {
			if b.f == 0 {
				return Item{}, false, nil
			}
			if a.s == b.s {
				return Item{k: kQty, f: round15(a.f / b.f), s: "1"}, true, nil
			}
			div := b.s
			if strings.ContainsAny(div, "./") {
				div = "(" + div + ")" // g/(m.s), not (g/m).s
			}
			return Item{k: kQty, f: round15(a.f / b.f), s: a.s + "/" + div}, true, nil
		}
		return Item{k: kQty, f: round15(a.f * b.f), s: a.s + "." + b.s}, true, nil
	}
	return Item{}, false, evalError("operator " + op + " is not defined for these operand types")
}

// round15 trims float noise to 15 significant digits.
func round15(f float64) float64 {
	if f == 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return f
	}
	e := math.Floor(math.Log10(math.Abs(f)))
	p := math.Pow(10, 14-e)
	r := math.Round(f*p) / p
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return f
	}
	return r
}

// typeOpNode implements "is" and "as".
func typeOpNode(op string, src node, typeName string) node {
	return func(c *ctx, focus Collection) (Collection, error) {
		in, err := src(c, focus)
		if err != nil {
			return nil, err
		}
		it, ok, err := singleton(in, op)
		if err != nil || !ok {
			return nil, err
		}
		if op == "is" {
			return boolColl(isTypeOrSub(it, typeName)), nil
		}
		m := isType(it, typeName)
		if m {
			return c.one(it), nil
		}
		return nil, nil
	}
}

// isType reports whether it is of the named type (namespaces optional).
func isType(it Item, name string) bool {
	ns := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ns, name = name[:i], name[i+1:]
	}
	tn := it.TypeName()
	if it.k != kNode {
		if ns == "FHIR" {
			return false
		}
		return tn == "System."+name
	}
	if ns == "System" {
		return false
	}
	if tn == name {
		return true
	}
	// FHIR specialisations of primitive and general types
	switch name {
	case "Resource", "DomainResource":
		return it.n != nil && it.n.ResourceType() != ""
	case "Element":
		return true
	case "BackboneElement":
		return tn == "BackboneElement"
	case "Quantity":
		return tn == "Age" || tn == "Duration" || tn == "Distance" || tn == "Count" || tn == "SimpleQuantity"
	}
	return false
}

// primitiveTypes are the FHIR and System type names accepted in lower case.
var primitiveTypes = map[string]bool{
	"boolean": true, "string": true, "integer": true, "decimal": true, "date": true, "dateTime": true,
	"time": true, "instant": true, "code": true, "id": true, "uri": true, "url": true, "canonical": true,
	"oid": true, "uuid": true, "markdown": true, "base64Binary": true, "positiveInt": true,
	"unsignedInt": true, "xhtml": true,
}

// knownType accepts capitalised type names and the FHIR primitive names.
func knownType(name string) bool {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return name != "" && (name[0] < 'a' || primitiveTypes[name])
}

// isTypeOrSub is isType extended to FHIR primitive specialisations
// (code, id, markdown are strings; url, canonical, oid, uuid are uris).
func isTypeOrSub(it Item, name string) bool {
	if isType(it, name) {
		return true
	}
	if it.k != kNode || strings.HasPrefix(name, "System.") {
		return false
	}
	switch tn, n := it.TypeName(), strings.TrimPrefix(name, "FHIR."); n {
	case "string":
		return tn == "code" || tn == "id" || tn == "markdown"
	case "uri":
		return tn == "url" || tn == "canonical" || tn == "oid" || tn == "uuid"
	case "integer":
		return tn == "positiveInt" || tn == "unsignedInt"
	}
	return false
}
