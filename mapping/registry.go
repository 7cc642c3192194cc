package mapping

import (
	"sort"
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
	"github.com/goccy/go-yaml/ast"
)

// runCtx is what a transform may see besides its input: the evaluation
// environment and focus of the field being produced. It is built once per
// node evaluation and never retained.
type runCtx struct {
	env   *fhirpath.Env
	focus fhirpath.Collection
}

// step is one compiled transform. apply receives the field's values (one
// JSON value per item; empty when absent), may modify the slice in place
// but never the values, and returns the new values. Errors describe the
// problem without quoting the data.
type step interface {
	apply(in []*fhir.Value, c *runCtx) ([]*fhir.Value, error)
}

// argMode says whether a transform takes an argument.
type argMode uint8

const (
	argNone     argMode = iota // bare name only: `digits`
	argRequired                // one-key map only: `{join: " "}`
	argOptional                // either
)

// constructor compiles a transform with its argument node (nil when the
// transform was written as a bare name). It validates the arguments and
// returns a *LoadError (via c.dec) on a bad one.
type constructor func(c *compiler, arg ast.Node) (step, error)

type transformSpec struct {
	mode argMode
	ctor constructor
}

// transforms is the registry of transforms by name; files transform_*.go
// fill it from init functions.
var transforms = map[string]transformSpec{}

// register adds a transform to the registry; a duplicate name panics at
// start-up.
func register(name string, mode argMode, c constructor) {
	if _, dup := transforms[name]; dup {
		panic("mapping: transform " + name + " registered twice")
	}
	transforms[name] = transformSpec{mode: mode, ctor: c}
}

// Transforms returns the names of the registered transforms, sorted.
func Transforms() []string {
	out := make([]string, 0, len(transforms))
	for n := range transforms {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// namedStep is a compiled step with the name it was written as, for errors.
type namedStep struct {
	name string
	step
}

// compileTransforms compiles a `transform:` list (or a single entry).
func (c *compiler) compileTransforms(n ast.Node) ([]namedStep, error) {
	var entries []ast.Node
	if _, ok := unwrap(n).(*ast.SequenceNode); ok {
		entries, _ = c.seq(n, "transform")
	} else {
		entries = []ast.Node{n}
	}
	out := make([]namedStep, 0, len(entries))
	for _, e := range entries {
		name, arg, at, err := c.transformEntry(e)
		if err != nil {
			return nil, err
		}
		spec, ok := transforms[name]
		if !ok {
			return nil, c.errAt(at, "unknown transform "+strconv.Quote(name))
		}
		switch {
		case arg == nil && spec.mode == argRequired:
			return nil, c.errAt(at, "transform "+name+" needs an argument")
		case arg != nil && spec.mode == argNone:
			return nil, c.errAt(at, "transform "+name+" takes no argument")
		}
		s, err := spec.ctor(c, arg)
		if err != nil {
			return nil, err
		}
		out = append(out, namedStep{name: name, step: s})
	}
	return out, nil
}

// transformEntry splits one list entry into name and argument node.
func (c *compiler) transformEntry(e ast.Node) (name string, arg, at ast.Node, err error) {
	if s, ok := unwrap(e).(*ast.StringNode); ok {
		return s.Value, nil, e, nil
	}
	ps, err := c.pairs(e, "transform")
	if err != nil {
		return "", nil, nil, c.errAt(e, "a transform is a name or a one-key mapping")
	}
	if len(ps) != 1 {
		return "", nil, nil, c.errAt(e, "a transform mapping must have exactly one key")
	}
	arg = ps[0].Value
	if isNull(arg) {
		arg = nil
	}
	return keyOf(ps[0]), arg, ps[0].Key, nil
}

// argObject decodes a transform's mapping argument with per-key handlers.
func (c *compiler) argObject(name string, arg ast.Node, h map[string]func(ast.Node) error) error {
	return c.object(arg, "transform "+name, h)
}

// paramText resolves a transform argument that may be "%param".
func (c *compiler) paramText(n ast.Node, what string) (string, error) {
	s, err := c.scalarText(n, what)
	if err != nil {
		return "", err
	}
	if len(s) > 1 && s[0] == '%' {
		v, ok := c.params[s[1:]]
		if !ok {
			return "", c.errAt(n, "unknown parameter "+strconv.Quote(s[1:]))
		}
		return v, nil
	}
	return s, nil
}
