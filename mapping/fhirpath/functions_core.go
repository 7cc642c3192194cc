package fhirpath

import (
	"sort"
)

// call is one compiled function call site.
type call struct {
	name     string
	args     []node
	typeName string // for is/as/ofType
	desc     []bool // per argument: sort descending
	data     any    // what a function checked at compile time (v2 paths)
}

// fnImpl evaluates a function over its input; outer is the focus the call
// site was evaluated with (normal arguments are evaluated against it).
type fnImpl func(c *ctx, in, outer Collection, cl *call) (Collection, error)

// funcDef describes one function: argument count bounds and implementation.
type funcDef struct {
	min, max int
	typeArg  bool // the argument is a type specifier
	fn       fnImpl
}

// functions is the function table, filled by register from each
// functions_*.go file.
var functions = map[string]funcDef{}

func register(name string, min, max int, fn fnImpl) {
	functions[name] = funcDef{min: min, max: max, fn: fn}
}

// Functions returns the names of the implemented functions, sorted.
func Functions() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// arg evaluates normal argument i against the call site's focus.
func (cl *call) arg(c *ctx, i int, outer Collection) (Collection, error) {
	return cl.args[i](c, outer)
}

// argItem evaluates argument i expecting at most one item.
func (cl *call) argItem(c *ctx, i int, outer Collection) (Item, bool, error) {
	col, err := cl.arg(c, i, outer)
	if err != nil {
		return Item{}, false, err
	}
	it, ok, err := singleton(col, cl.name+"() argument")
	return it.prim(), ok, err
}

// iterate evaluates arg i once per input item with $this and $index set.
func (cl *call) iterate(c *ctx, i int, in Collection, each func(j int, res Collection) (bool, error)) error {
	if c.depth++; c.depth > maxDepth {
		return evalError("expression nests too deeply")
	}
	defer func() { c.depth-- }()
	saveThis, saveIdx := c.this, c.index
	defer func() { c.this, c.index = saveThis, saveIdx }()
	for j := range in {
		c.this, c.index = in[j], j
		res, err := cl.args[i](c, in[j:j+1:j+1])
		if err != nil {
			return err
		}
		more, err := each(j, res)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func init() {
	register("empty", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		return boolColl(len(in) == 0), nil
	})
	register("exists", 0, 1, func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		if len(cl.args) == 0 {
			return boolColl(len(in) > 0), nil
		}
		found := false
		err := cl.iterate(c, 0, in, func(_ int, res Collection) (bool, error) {
			b, k, err := boolOf(res, "exists")
			found = k && b
			return !found, err
		})
		return boolColl(found), err
	})
	register("all", 1, 1, func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		all := true
		err := cl.iterate(c, 0, in, func(_ int, res Collection) (bool, error) {
			b, k, err := boolOf(res, "all")
			all = k && b
			return all, err
		})
		return boolColl(all), err
	})
	boolAgg := func(name string, want bool, any bool) {
		register(name, 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
			for _, it := range in {
				b, ok := it.AsBool()
				if !ok {
					return nil, evalError(name + "() expects booleans")
				}
				if any && b == want {
					return trueColl, nil
				}
				if !any && b != want {
					return falseColl, nil
				}
			}
			return boolColl(!any), nil
		})
	}
	boolAgg("allTrue", true, false)
	boolAgg("allFalse", false, false)
	boolAgg("anyTrue", true, true)
	boolAgg("anyFalse", false, true)
	register("subsetOf", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		other, err := cl.arg(c, 0, outer)
		if err != nil {
			return nil, err
		}
		for _, it := range in {
			if !containsItem(other, it) {
				return falseColl, nil
			}
		}
		return trueColl, nil
	})
	register("supersetOf", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		other, err := cl.arg(c, 0, outer)
		if err != nil {
			return nil, err
		}
		for _, it := range other {
			if !containsItem(in, it) {
				return falseColl, nil
			}
		}
		return trueColl, nil
	})
	register("count", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		return c.one(Integer(int64(len(in)))), nil
	})
	register("distinct", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		return union(in, nil), nil
	})
	register("isDistinct", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		return boolColl(len(union(in, nil)) == len(in)), nil
	})
	register("where", 1, 1, func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		var keep uint64
		var big []bool
		if len(in) > 64 {
			big = make([]bool, len(in))
		}
		n := 0
		err := cl.iterate(c, 0, in, func(j int, res Collection) (bool, error) {
			b, k, err := boolOf(res, "where")
			if k && b {
				n++
				if big != nil {
					big[j] = true
				} else {
					keep |= 1 << uint(j)
				}
			}
			return true, err
		})
		if err != nil || n == 0 {
			return nil, err
		}
		if n == len(in) {
			return in, nil
		}
		out := c.alloc(n)
		for j := range in {
			if (big != nil && big[j]) || (big == nil && keep&(1<<uint(j)) != 0) {
				out = append(out, in[j])
			}
		}
		return out, nil
	})
	register("select", 1, 1, func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		var out Collection
		err := cl.iterate(c, 0, in, func(_ int, res Collection) (bool, error) {
			if out == nil && len(in) == 1 {
				out = res
			} else {
				out = append(out[:len(out):len(out)], res...)
			}
			return true, nil
		})
		return out, err
	})
	register("repeat", 1, 1, func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		var out Collection
		next := in
		for len(next) > 0 {
			var found Collection
			err := cl.iterate(c, 0, next, func(_ int, res Collection) (bool, error) {
				for _, it := range res {
					if !containsItem(out, it) {
						out = append(out, it)
						found = append(found, it)
					}
				}
				return true, nil
			})
			if err != nil {
				return nil, err
			}
			next = found
		}
		return out, nil
	})
	register("aggregate", 1, 2, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		var total Collection
		if len(cl.args) > 1 {
			var err error
			if total, err = cl.arg(c, 1, outer); err != nil {
				return nil, err
			}
		}
		saveTotal := c.total
		defer func() { c.total = saveTotal }()
		c.total = total
		err := cl.iterate(c, 0, in, func(_ int, res Collection) (bool, error) {
			c.total = res
			return true, nil
		})
		return c.total, err
	})
	functions["ofType"] = funcDef{min: 1, max: 1, typeArg: true, fn: func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		var out Collection
		for _, it := range in {
			if isType(it, cl.typeName) {
				out = append(out, it)
			}
		}
		return out, nil
	}}
	functions["is"] = funcDef{min: 1, max: 1, typeArg: true, fn: func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		it, ok, err := singleton(in, "is()")
		if err != nil || !ok {
			return nil, err
		}
		return boolColl(isTypeOrSub(it, cl.typeName)), nil
	}}
	functions["as"] = funcDef{min: 1, max: 1, typeArg: true, fn: func(c *ctx, in, _ Collection, cl *call) (Collection, error) {
		if len(in) > 1 {
			return nil, evalError("as() expects a single item")
		}
		var out Collection
		for _, it := range in {
			if isType(it, cl.typeName) {
				out = append(out, it)
			}
		}
		return out, nil
	}}
	register("single", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		if len(in) > 1 {
			return nil, evalError("single() expects at most one item")
		}
		return in, nil
	})
	register("first", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[:1:1], nil
	})
	register("last", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		if len(in) == 0 {
			return nil, nil
		}
		return in[len(in)-1:], nil
	})
	register("tail", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		if len(in) < 2 {
			return nil, nil
		}
		return in[1:], nil
	})
	register("skip", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		n, err := intArg(c, cl, 0, outer)
		if err != nil {
			return nil, err
		}
		if n >= int64(len(in)) {
			return nil, nil
		}
		return in[max(n, 0):], nil
	})
	register("take", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		n, err := intArg(c, cl, 0, outer)
		if err != nil || n <= 0 {
			return nil, err
		}
		return in[:min(n, int64(len(in))):min(n, int64(len(in)))], nil
	})
	register("intersect", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		other, err := cl.arg(c, 0, outer)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, it := range in {
			if containsItem(other, it) && !containsItem(out, it) {
				out = append(out, it)
			}
		}
		return out, nil
	})
	register("exclude", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		other, err := cl.arg(c, 0, outer)
		if err != nil {
			return nil, err
		}
		var out Collection
		for _, it := range in {
			if !containsItem(other, it) {
				out = append(out, it)
			}
		}
		return out, nil
	})
	register("union", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		other, err := cl.arg(c, 0, outer)
		if err != nil {
			return nil, err
		}
		return union(in, other), nil
	})
	register("combine", 1, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		other, err := cl.arg(c, 0, outer)
		if err != nil {
			return nil, err
		}
		out := make(Collection, 0, len(in)+len(other))
		return append(append(out, in...), other...), nil
	})
	register("iif", 2, 3, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		if len(in) > 1 {
			return nil, evalError("iif() expects at most one input item")
		}
		saveThis := c.this
		if len(in) == 1 {
			c.this = in[0]
		}
		defer func() { c.this = saveThis }()
		cond, err := cl.args[0](c, in)
		if err != nil {
			return nil, err
		}
		if len(cond) > 1 {
			return nil, evalError("iif() criterion must be a single boolean")
		}
		b, k := false, false
		if len(cond) == 1 {
			if b, k = cond[0].AsBool(); !k {
				return nil, evalError("iif() criterion must be a boolean")
			}
		}
		if k && b {
			return cl.args[1](c, in)
		}
		if len(cl.args) > 2 {
			return cl.args[2](c, in)
		}
		return nil, nil
	})
	register("trace", 1, 2, func(c *ctx, in, _ Collection, _ *call) (Collection, error) { return in, nil })
	register("not", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		b, k, err := boolOf(in, "not()")
		if err != nil || !k {
			return nil, err
		}
		return boolColl(!b), nil
	})
	register("hasValue", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		return boolColl(len(in) == 1 && in[0].n != nil && in[0].n.Kind != 5 && in[0].n.Kind != 4 && in[0].n.Kind != 0), nil
	})
	register("getValue", 0, 0, func(c *ctx, in, _ Collection, _ *call) (Collection, error) {
		if len(in) == 1 && in[0].n != nil && in[0].n.Kind != 5 && in[0].n.Kind != 4 && in[0].n.Kind != 0 {
			return c.one(in[0].prim()), nil
		}
		return nil, nil
	})
}

// intArg evaluates argument i as an integer.
func intArg(c *ctx, cl *call, i int, outer Collection) (int64, error) {
	it, ok, err := cl.argItem(c, i, outer)
	if err != nil {
		return 0, err
	}
	if !ok || it.k != kInt {
		return 0, evalError(cl.name + "() expects an integer argument")
	}
	return it.i, nil
}
