package fhirpath

import (
	"slices"
	"strings"
)

// Compile parses and checks expr. Syntax errors, unknown functions and
// unknown %variables are reported with their 1-based column.
func Compile(expr string, opt Options) (*Expr, error) {
	tree, err := parse(expr)
	if err != nil {
		return nil, err
	}
	cp := &compiler{src: expr, vars: opt.Vars}
	root, err := cp.compile(tree)
	if err != nil {
		return nil, err
	}
	x := &Expr{src: expr, root: root}
	if opt.Context != "" {
		ck := &checker{model: r4Model(), strict: opt.Strict}
		if ck.known(opt.Context) == "" {
			return nil, &Error{Col: 1, Msg: "unknown R4 type " + opt.Context, Err: ErrUnknownElement}
		}
		if x.typ, err = ck.check(tree, opt.Context); err != nil {
			return nil, err
		}
	}
	return x, nil
}

type compiler struct {
	src  string
	vars []string
}

func (cp *compiler) errf(col int, err error, msg string) error {
	return &Error{Col: col, Msg: msg, Err: err}
}

func (cp *compiler) compile(a *ast) (node, error) {
	switch a.kind {
	case aLit:
		lit := a.lit
		return func(*ctx, Collection) (Collection, error) { return lit, nil }, nil
	case aIdent:
		return identNode(a.name), nil
	case aMember:
		src, err := cp.compile(a.args[0])
		if err != nil {
			return nil, err
		}
		name := a.name
		return func(c *ctx, focus Collection) (Collection, error) {
			in, err := src(c, focus)
			if err != nil || len(in) == 0 {
				return nil, err
			}
			return navigate(c, in, name), nil
		}, nil
	case aIndex:
		src, err := cp.compile(a.args[0])
		if err != nil {
			return nil, err
		}
		idx, err := cp.compile(a.args[1])
		if err != nil {
			return nil, err
		}
		return func(c *ctx, focus Collection) (Collection, error) {
			in, err := src(c, focus)
			if err != nil {
				return nil, err
			}
			ic, err := idx(c, focus)
			if err != nil {
				return nil, err
			}
			it, ok, err := singleton(ic, "indexer")
			if err != nil || !ok {
				return nil, err
			}
			p := it.prim()
			if p.k != kInt {
				return nil, evalError("index must be an integer")
			}
			if p.i < 0 || p.i >= int64(len(in)) {
				return nil, nil
			}
			return in[p.i : p.i+1 : p.i+1], nil
		}, nil
	case aUnary:
		arg, err := cp.compile(a.args[0])
		if err != nil {
			return nil, err
		}
		if a.name == "+" {
			return arg, nil
		}
		return func(c *ctx, focus Collection) (Collection, error) {
			in, err := arg(c, focus)
			if err != nil {
				return nil, err
			}
			it, ok, err := singleton(in, "unary minus")
			if err != nil || !ok {
				return nil, err
			}
			p := it.prim()
			switch p.k {
			case kInt:
				p.i = -p.i
			case kDec:
				p.f = negateFloat(p.f)
				p.s = negateText(p.s, p.f)
			case kQty:
				p.f = negateFloat(p.f)
				p.key = negateText(p.key, p.f) // the digits as written
			default:
				return nil, evalError("unary minus needs a number")
			}
			return c.one(p), nil
		}, nil
	case aVar:
		return cp.variable(a)
	case aSpecial:
		switch a.name {
		case "this":
			return func(c *ctx, focus Collection) (Collection, error) { return c.one(c.this), nil }, nil
		case "index":
			return func(c *ctx, focus Collection) (Collection, error) { return c.one(Integer(int64(c.index))), nil }, nil
		default:
			return func(c *ctx, focus Collection) (Collection, error) { return c.total, nil }, nil
		}
	case aTypeOp:
		src, err := cp.compile(a.args[0])
		if err != nil {
			return nil, err
		}
		if !knownType(a.args[1].name) {
			return nil, cp.errf(a.args[1].col, ErrSyntax, "unknown type "+a.args[1].name)
		}
		return typeOpNode(a.name, src, a.args[1].name), nil
	case aBinary:
		return cp.binary(a)
	case aCall:
		return cp.call(a)
	}
	return nil, cp.errf(a.col, ErrSyntax, "unsupported expression")
}

// identNode navigates a member, or filters by type when name is a type
// (capitalised) at the start of a path.
func identNode(name string) node {
	if name != "" && name[0] >= 'A' && name[0] <= 'Z' {
		return func(c *ctx, focus Collection) (Collection, error) {
			for i := range focus {
				if focus[i].k == kNode && focus[i].typ == name {
					if len(focus) == 1 {
						return focus, nil
					}
					out := c.alloc(len(focus))
					for _, it := range focus {
						if it.k == kNode && it.typ == name {
							out = append(out, it)
						}
					}
					return out, nil
				}
			}
			return navigate(c, focus, name), nil
		}
	}
	return func(c *ctx, focus Collection) (Collection, error) {
		return navigate(c, focus, name), nil
	}
}

var builtinVars = map[string]string{
	"ucum": "http://unitsofmeasure.org", "sct": "http://snomed.info/sct", "loinc": "http://loinc.org",
}

func (cp *compiler) variable(a *ast) (node, error) {
	name := a.name
	switch {
	case name == "resource" || name == "rootResource":
		return func(c *ctx, focus Collection) (Collection, error) {
			if c.env.Resource != nil {
				return c.one(ItemOf(c.env.Resource)), nil
			}
			if c.env.Message != nil {
				return messageColl, nil // an HL7 v2 record
			}
			return c.context, nil
		}, nil
	case name == "context":
		return func(c *ctx, focus Collection) (Collection, error) { return c.context, nil }, nil
	case builtinVars[name] != "":
		lit := Collection{String(builtinVars[name])}
		return func(*ctx, Collection) (Collection, error) { return lit, nil }, nil
	case strings.HasPrefix(name, "vs-"):
		lit := Collection{String("http://hl7.org/fhir/ValueSet/" + name[3:])}
		return func(*ctx, Collection) (Collection, error) { return lit, nil }, nil
	case strings.HasPrefix(name, "ext-"):
		lit := Collection{String("http://hl7.org/fhir/StructureDefinition/" + name[4:])}
		return func(*ctx, Collection) (Collection, error) { return lit, nil }, nil
	case slices.Contains(cp.vars, name):
		return func(c *ctx, focus Collection) (Collection, error) { return c.env.Vars[name], nil }, nil
	}
	return nil, cp.errf(a.col, ErrUnknownVariable, "unknown variable %"+name)
}

func (cp *compiler) call(a *ast) (node, error) {
	def, ok := functions[a.name]
	if !ok {
		return nil, cp.errf(a.col, ErrUnknownFunction, "unknown function "+a.name+"()")
	}
	nargs := len(a.args) - 1
	if nargs < def.min || nargs > def.max {
		return nil, cp.errf(a.col, ErrSyntax, "wrong number of arguments to "+a.name+"()")
	}
	var src node
	if a.args[0] != nil {
		var err error
		if src, err = cp.compile(a.args[0]); err != nil {
			return nil, err
		}
	}
	cl := &call{name: a.name}
	for _, arg := range a.args[1:] {
		if def.typeArg {
			tn, ok := typeNameOf(arg)
			if !ok {
				return nil, cp.errf(arg.col, ErrSyntax, "expected a type name in "+a.name+"()")
			}
			if !knownType(tn) {
				return nil, cp.errf(arg.col, ErrSyntax, "unknown type "+tn)
			}
			cl.typeName = tn
			continue
		}
		desc := false
		if a.name == "sort" && arg.kind == aUnary && arg.name == "-" {
			desc, arg = true, arg.args[0] // sort(-key) sorts descending
		}
		n, err := cp.compile(arg)
		if err != nil {
			return nil, err
		}
		cl.args = append(cl.args, n)
		cl.desc = append(cl.desc, desc)
	}
	if v2Functions[a.name] {
		if err := cp.compileV2(a, cl); err != nil {
			return nil, err
		}
	}
	fn := def.fn
	if src == nil {
		return func(c *ctx, focus Collection) (Collection, error) { return fn(c, focus, focus, cl) }, nil
	}
	return func(c *ctx, focus Collection) (Collection, error) {
		in, err := src(c, focus)
		if err != nil {
			return nil, err
		}
		return fn(c, in, focus, cl)
	}, nil
}

// typeNameOf reads a type specifier written as an expression.
func typeNameOf(a *ast) (string, bool) {
	switch a.kind {
	case aIdent:
		return a.name, true
	case aMember:
		p, ok := typeNameOf(a.args[0])
		return p + "." + a.name, ok
	}
	return "", false
}

// negateFloat negates f; zero stays +0, which prints without a sign.
func negateFloat(f float64) float64 {
	if f == 0 {
		return 0
	}
	return -f
}

// negateText negates the text of a decimal whose negated value is f,
// keeping its digits. Zero has no sign: negating 0.0 or -0.0 gives 0.0.
func negateText(s string, f float64) string {
	switch {
	case s == "":
		return s
	case s[0] == '-':
		return s[1:]
	case f == 0:
		return s
	}
	return "-" + s
}
