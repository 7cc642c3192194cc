package mapping

import (
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// compiler holds what compiling one mapping file needs.
type compiler struct {
	dec
	fsys    fs.FS
	dir     string            // directory of the mapping file inside fsys
	params  map[string]string // resolved parameter values
	given   map[string]string // parameter values given to Load
	vars    []string          // names usable after % at this point
	pathTgt bool              // targets are paths (json output, reverse)
	row     bool              // forward row output: scalar fields only
	focus   string            // R4 type of the FHIRPath focus; "" = not checked
	tgtType string            // R4 type at the current reverse target; "" = not checked
	reverse bool              // targets are paths into an R4 resource
	// resTypes: the constant resourceType of resource elements among the
	// fields being compiled, by target prefix (see bundle_target.go)
	resTypes map[string]string
}

// nodeKind is the shape of a field.
type nodeKind uint8

const (
	kScalar nodeKind = iota // from / value / concat / param
	kObject                 // fields
	kEach                   // each
	kItems                  // items
)

// node is one compiled field.
type node struct {
	field     string    // full target path for errors
	key       string    // row column or single-segment target
	path      []pathSeg // json/reverse target path (nil for row output and items)
	kind      nodeKind
	from      *fhirpath.Expr // scalar source, object focus or each element source
	exprText  string         // text shown in errors
	value     *fhir.Value    // constant (value/param)
	concat    []*fhirpath.Expr
	each      *fhirpath.Expr
	fields    []*node
	items     []*node
	when      *fhirpath.Expr
	steps     []namedStep
	def       *fhir.Value
	typ       string
	required  bool
	first     bool
	omitEmpty bool
	consts    []Constant // see Mapping.Constants
	tgtType   string     // R4 type a reverse target reaches; "" = not checked
}

// expr compiles one FHIRPath expression found at n.
func (c *compiler) expr(n ast.Node, what string) (*fhirpath.Expr, string, error) {
	s, err := c.str(n, what)
	if err != nil {
		return nil, "", err
	}
	e, err := fhirpath.Compile(s, fhirpath.Options{Vars: c.vars, Context: c.focus})
	if err != nil {
		return nil, "", c.exprErr(n, what, err)
	}
	return e, s, nil
}

// exprErr locates a FHIRPath compile error inside the YAML scalar at n.
func (c *compiler) exprErr(n ast.Node, what string, err error) error {
	le := c.errAt(n, what+": "+err.Error())
	le.Err = err
	var fe *fhirpath.Error
	if !errors.As(err, &fe) {
		return le
	}
	le.Msg = what + ": " + strings.TrimPrefix(fe.Err.Error(), "fhirpath: ") + ": " + fe.Msg
	if sn, ok := unwrap(n).(*ast.StringNode); ok && le.Line > 0 && !strings.ContainsAny(sn.Value, "\n\\") {
		le.Col += fe.Col - 1
		if t := sn.GetToken().Type; t == token.DoubleQuoteType || t == token.SingleQuoteType {
			le.Col++
		}
	}
	return le
}

var nodeTypes = map[string]bool{"string": true, "boolean": true, "integer": true, "number": true, "object": true, "array": true}

// compileFields compiles a list of fields; parent is the target path of
// the enclosing node ("" at the top).
func (c *compiler) compileFields(n ast.Node, parent string) ([]*node, error) {
	entries, err := c.seq(n, "fields")
	if err != nil {
		return nil, err
	}
	out := make([]*node, 0, len(entries))
	seen := map[string]bool{}
	if c.reverse {
		saved := c.resTypes
		c.resTypes = c.resourceTypes(entries)
		defer func() { c.resTypes = saved }()
	}
	for _, e := range entries {
		nd, at, err := c.compileNode(e, parent, true)
		if err != nil {
			return nil, err
		}
		if seen[nd.key] {
			return nil, c.errAt(at, "duplicate target "+strconv.Quote(nd.key))
		}
		seen[nd.key] = true
		out = append(out, nd)
	}
	return out, nil
}

// compileNode compiles one field; named says whether a target is required
// (fields) or forbidden (items entries). It returns the target node for errors.
func (c *compiler) compileNode(e ast.Node, parent string, named bool) (*node, ast.Node, error) {
	nd := &node{}
	var targetAt, fieldsN, itemsN, transformN, fromN ast.Node
	var param string // the parameter of a param field
	var srcs []string
	src := func(k string) { srcs = append(srcs, k) }
	h := map[string]func(ast.Node) error{
		"target":      func(v ast.Node) (err error) { targetAt = v; nd.key, err = c.str(v, "target"); return },
		"description": func(v ast.Node) error { _, err := c.str(v, "description"); return err },
		"from":        func(v ast.Node) error { fromN = v; return nil },
		"value": func(v ast.Node) (err error) {
			src("value")
			if nd.value, err = c.value(v); err == nil && (nd.value.Kind == fhir.Array || nd.value.Kind == fhir.Object) {
				err = c.errAt(v, "value must be a string, number or boolean")
			}
			return
		},
		"param": func(v ast.Node) error {
			src("param")
			p, err := c.str(v, "param")
			if err != nil {
				return err
			}
			val, ok := c.params[p]
			if !ok {
				return c.errAt(v, "unknown parameter "+strconv.Quote(p))
			}
			nd.value, nd.exprText, param = fhir.NewString(val), "%"+p, p
			return nil
		},
		"concat": func(v ast.Node) error {
			src("concat")
			parts, err := c.seq(v, "concat")
			if err != nil {
				return err
			}
			for _, p := range parts {
				x, s, err := c.expr(p, "concat expression")
				if err != nil {
					return err
				}
				nd.concat = append(nd.concat, x)
				if nd.exprText != "" {
					nd.exprText += " & "
				}
				nd.exprText += s
			}
			return nil
		},
		"each": func(v ast.Node) (err error) {
			src("each")
			nd.kind = kEach
			nd.each, nd.exprText, err = c.expr(v, "each")
			return
		},
		"fields":     func(v ast.Node) error { fieldsN = v; return nil },
		"items":      func(v ast.Node) error { src("items"); itemsN = v; return nil },
		"transform":  func(v ast.Node) error { transformN = v; return nil },
		"when":       func(v ast.Node) (err error) { nd.when, _, err = c.expr(v, "when"); return },
		"required":   func(v ast.Node) (err error) { nd.required, err = c.boolean(v, "required"); return },
		"first":      func(v ast.Node) (err error) { nd.first, err = c.boolean(v, "first"); return },
		"omit_empty": func(v ast.Node) (err error) { nd.omitEmpty, err = c.boolean(v, "omit_empty"); return },
		"default":    func(v ast.Node) (err error) { nd.def, err = c.value(v); return },
		"type": func(v ast.Node) error {
			t, err := c.str(v, "type")
			if err == nil && !nodeTypes[t] {
				err = c.errAt(v, "type must be one of string, boolean, integer, number, object, array")
			}
			nd.typ = t
			return err
		},
	}
	if err := c.object(e, "field", h); err != nil {
		return nil, nil, err
	}
	if err := c.nodeTarget(nd, e, targetAt, parent, named); err != nil {
		return nil, nil, err
	}
	if nd.tgtType == anyResource {
		// the resource's type is the constant resourceType among its fields
		nd.tgtType = ""
		if fieldsN != nil {
			if entries, err := c.seq(fieldsN, "fields"); err == nil {
				nd.tgtType = c.resourceTypes(entries)[""]
			}
		}
	}
	if fieldsN == nil && nd.kind != kEach && fromN != nil {
		src("from")
	}
	if fieldsN != nil && nd.kind != kEach {
		src("fields")
	}
	switch {
	case len(srcs) == 0:
		return nil, nil, c.errAt(e, "field "+strconv.Quote(nd.field)+" has no source: give one of from, value, concat, param, fields, each, items")
	case len(srcs) > 1:
		return nil, nil, c.errAt(e, "field "+strconv.Quote(nd.field)+" has more than one source: "+srcs[0]+" and "+srcs[1])
	case nd.kind == kEach && fieldsN != nil && fromN != nil:
		return nil, nil, c.errAt(fromN, "each takes either fields or from, not both")
	}
	if fromN != nil {
		var err error
		focus := c.focus
		if nd.kind == kEach {
			c.focus = nd.each.Type() // each's from is evaluated on each element
		}
		nd.from, nd.exprText, err = c.expr(fromN, "from")
		c.focus = focus
		if err != nil {
			return nil, nil, err
		}
		if nd.kind == kEach {
			nd.exprText = ""
		}
	}
	if err := c.nodeChildren(nd, fieldsN, itemsN, transformN); err != nil {
		return nil, nil, err
	}
	c.nodeConstants(nd, param)
	if c.row && (nd.kind != kScalar || nd.typ == "object" || nd.typ == "array") {
		return nil, nil, c.errAt(e, "row output takes scalar fields only (no fields, each, items, or type object/array)")
	}
	return nd, targetAt, nil
}

// nodeChildren compiles nested fields, items and transforms of nd.
func (c *compiler) nodeChildren(nd *node, fieldsN, itemsN, transformN ast.Node) error {
	var err error
	focus, tgt := c.focus, c.tgtType
	defer func() { c.focus, c.tgtType = focus, tgt }()
	switch {
	case nd.kind == kEach && nd.each != nil:
		c.focus = nd.each.Type()
	case nd.from != nil:
		c.focus = nd.from.Type()
	}
	c.tgtType = nd.tgtType
	if fieldsN != nil {
		if nd.kind != kEach {
			nd.kind = kObject
		}
		if nd.fields, err = c.compileFields(fieldsN, elemPath(nd)); err != nil {
			return err
		}
	}
	if itemsN != nil {
		nd.kind = kItems
		entries, err := c.seq(itemsN, "items")
		if err != nil {
			return err
		}
		for i, e := range entries {
			it, _, err := c.compileNode(e, nd.field+"["+strconv.Itoa(i)+"]", false)
			if err != nil {
				return err
			}
			nd.items = append(nd.items, it)
		}
	}
	if transformN != nil {
		// transform expressions see the field's own focus: the parent's,
		// or each element for each
		c.focus = focus
		if nd.kind == kEach && nd.each != nil {
			c.focus = nd.each.Type()
		}
		if nd.kind == kObject || nd.kind == kItems || (nd.kind == kEach && nd.fields != nil) {
			return c.errAt(transformN, "transform applies only to scalar fields and each without fields")
		}
		if nd.steps, err = c.compileTransforms(transformN); err != nil {
			return err
		}
	}
	return nil
}

// elemPath is the error path of nd's nested fields.
func elemPath(nd *node) string {
	if nd.kind == kEach {
		return nd.field + "[]"
	}
	return nd.field
}

// nodeTarget checks and records the target of nd.
func (c *compiler) nodeTarget(nd *node, e, at ast.Node, parent string, named bool) error {
	if !named {
		if at != nil {
			return c.errAt(at, "items entries take no target")
		}
		nd.field = parent
		nd.tgtType = c.tgtType
		return nil
	}
	if at == nil {
		return c.errAt(e, "field has no target")
	}
	if nd.key == "" {
		return c.errAt(at, "target is empty")
	}
	nd.field = nd.key
	if parent != "" {
		nd.field = parent + "." + nd.key
	}
	if !c.pathTgt {
		return nil
	}
	p, err := parsePath(nd.key)
	if err != nil {
		return c.errAt(at, "target: "+err.Error())
	}
	nd.path = p
	if c.reverse {
		return c.checkTarget(nd, at)
	}
	return nil
}

// checkTarget refuses a reverse target path that R4 does not define at
// this point of the resource, naming the nearest valid element, and
// records the R4 type the path reaches for the nested fields.
func (c *compiler) checkTarget(nd *node, at ast.Node) error {
	t := c.tgtType
	for i, seg := range nd.path {
		if t == anyResource {
			if seg.name == "" {
				continue // contained[0]
			}
			// a flat path into a resource element: its type comes from a
			// sibling's constant resourceType
			t = c.resolveSlot(renderPath(nd.path[:i]))
			if seg.name == "resourceType" {
				t = ""
				continue
			}
		}
		if seg.name == "" || t == "" {
			continue
		}
		elem, sugg, ok := fhirpath.R4Element(t, seg.name)
		if !ok {
			msg := "target: R4 " + t + " has no element " + seg.name
			if sugg != "" {
				msg += " (did you mean " + sugg + "?)"
			}
			return c.errAt(at, msg)
		}
		t = slotType(t, seg.name, elem)
	}
	nd.tgtType = t
	return nil
}
