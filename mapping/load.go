// Package mapping is fhirbridge's declarative mapping language: one YAML
// file per flow maps FHIR resources to vendor records (forward) or vendor
// records to FHIR resources (reverse). A file is read strictly, every
// FHIRPath expression and transform is compiled once by Load, and the
// resulting *Mapping is applied many times, concurrently. The language
// reference is the section "The mapping language" of the README.
//
// The package has no network or OS access: files come through io/fs.
package mapping

import (
	"io/fs"
	"path"
	"sort"
	"strconv"

	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
	"github.com/goccy/go-yaml/ast"
)

// Load reads the mapping file at file in fsys and compiles it with the
// given run-time parameters. Lookup CSV files are read from fsys relative
// to the mapping file. Errors in the file are *LoadError.
func Load(fsys fs.FS, file string, params map[string]string) (*Mapping, error) {
	src, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, &LoadError{File: file, Msg: "reading mapping: " + err.Error()}
	}
	return Parse(file, src, fsys, path.Dir(file), params)
}

// Parse compiles the mapping source src; name is the file name used in
// errors, and lookup CSV files are read from fsys (may be nil when none are
// used) under dir. Unknown parameters and missing required ones are errors;
// declared defaults fill the rest.
func Parse(name string, src []byte, fsys fs.FS, dir string, params map[string]string) (*Mapping, error) {
	c := &compiler{dec: dec{file: name}, fsys: fsys, dir: dir}
	body, err := c.parseYAML(src)
	if err != nil {
		return nil, err
	}
	m := &Mapping{}
	var fieldsN, varsN, eachN, whenN, paramsN, dirN, outN ast.Node
	var haveName, haveVersion, haveSource bool
	h := map[string]func(ast.Node) error{
		"name":        func(v ast.Node) (err error) { haveName = true; m.name, err = c.str(v, "name"); return },
		"version":     func(v ast.Node) (err error) { haveVersion = true; m.version, err = c.integer(v, "version"); return },
		"description": func(v ast.Node) (err error) { m.desc, err = c.str(v, "description"); return },
		"direction":   func(v ast.Node) error { dirN = v; return nil },
		"source":      func(v ast.Node) (err error) { haveSource = true; m.source, err = c.str(v, "source"); return },
		"resource":    func(v ast.Node) (err error) { m.resource, err = c.str(v, "resource"); return },
		"output":      func(v ast.Node) error { outN = v; return nil },
		"input":       func(v ast.Node) error { return c.oneOf(v, "input", &m.input, "csv", "json", "hl7v2") },
		"columns":     func(v ast.Node) (err error) { m.columns, err = c.strList(v, "columns"); return },
		"params":      func(v ast.Node) error { paramsN = v; return nil },
		"vars":        func(v ast.Node) error { varsN = v; return nil },
		"each":        func(v ast.Node) error { eachN = v; return nil },
		"when":        func(v ast.Node) error { whenN = v; return nil },
		"fields":      func(v ast.Node) error { fieldsN = v; return nil },
	}
	if err := c.object(body, "mapping", h); err != nil {
		return nil, err
	}
	switch {
	case !haveName || m.name == "":
		return nil, c.errAt(body, "mapping has no name")
	case !haveVersion:
		return nil, c.errAt(body, "mapping has no version")
	case !haveSource || m.source == "":
		return nil, c.errAt(body, "mapping has no source")
	case fieldsN == nil:
		return nil, c.errAt(body, "mapping has no fields")
	}
	if err := c.header(m, body, dirN, outN); err != nil {
		return nil, err
	}
	switch {
	case m.dir == Reverse && fhirpath.R4Known(m.resource):
		c.reverse, c.tgtType = true, m.resource
	case m.dir == Forward && fhirpath.R4Known(m.source):
		c.focus = m.source
	}
	if err := c.compileParams(m, paramsN, params); err != nil {
		return nil, err
	}
	if err := c.compileVars(m, varsN); err != nil {
		return nil, err
	}
	if eachN != nil {
		if m.dir != Forward {
			return nil, c.errAt(eachN, "each is for forward mappings")
		}
		if m.each, _, err = c.expr(eachN, "each"); err != nil {
			return nil, err
		}
		for _, have := range c.vars {
			if have == ItemVar {
				return nil, c.errAt(eachN, "each binds %"+ItemVar+", which a var or parameter already names")
			}
		}
		c.vars = append(c.vars, ItemVar)
	}
	if whenN != nil {
		if m.when, _, err = c.expr(whenN, "when"); err != nil {
			return nil, err
		}
	}
	if m.fields, err = c.compileFields(fieldsN, ""); err != nil {
		return nil, err
	}
	for _, f := range m.fields {
		m.targets = append(m.targets, f.key)
	}
	return m, nil
}

// oneOf decodes a string that must be one of allowed.
func (c *compiler) oneOf(n ast.Node, what string, dst *string, allowed ...string) error {
	s, err := c.str(n, what)
	if err != nil {
		return err
	}
	for _, a := range allowed {
		if s == a {
			*dst = s
			return nil
		}
	}
	return c.errAt(n, what+" must be "+joinOr(allowed))
}

func joinOr(s []string) string {
	out := ""
	for i, a := range s {
		if i > 0 {
			out += " or "
		}
		out += a
	}
	return out
}

// header checks direction, output and the reverse-only keys.
func (c *compiler) header(m *Mapping, body, dirN, outN ast.Node) error {
	d := "forward"
	if dirN != nil {
		if err := c.oneOf(dirN, "direction", &d, "forward", "reverse"); err != nil {
			return err
		}
	}
	if d == "reverse" {
		m.dir = Reverse
		if m.resource == "" {
			return c.errAt(body, "a reverse mapping needs resource")
		}
		if outN != nil {
			return c.errAt(outN, "output is for forward mappings; a reverse mapping outputs resource")
		}
		if m.input == "" {
			m.input = "json"
		}
		if m.input == "hl7v2" && m.columns != nil {
			return c.errAt(body, "columns is for input csv; an hl7v2 mapping reads the message with v2()")
		}
		m.output = "json"
		c.pathTgt = true
		return nil
	}
	if m.resource != "" || m.input != "" || m.columns != nil {
		return c.errAt(body, "resource, input and columns are for reverse mappings")
	}
	m.output = "row"
	if outN != nil {
		if err := c.oneOf(outN, "output", &m.output, "row", "json"); err != nil {
			return err
		}
	}
	c.pathTgt = m.output == "json"
	c.row = !c.pathTgt
	return nil
}

// compileParams validates the run-time parameters against the declared ones.
func (c *compiler) compileParams(m *Mapping, n ast.Node, given map[string]string) error {
	specs := map[string]*paramSpec{}
	var order []string
	if n != nil {
		ps, err := c.pairs(n, "params")
		if err != nil {
			return err
		}
		for _, kv := range ps {
			name := keyOf(kv)
			sp := &paramSpec{}
			err := c.object(kv.Value, "param "+name, map[string]func(ast.Node) error{
				"default":     func(v ast.Node) error { s, err := c.scalarText(v, "default"); sp.def = &s; return err },
				"required":    func(v ast.Node) (err error) { sp.required, err = c.boolean(v, "required"); return },
				"description": func(v ast.Node) error { _, err := c.str(v, "description"); return err },
			})
			if err != nil {
				return err
			}
			specs[name] = sp
			order = append(order, name)
		}
	}
	c.params, c.given = map[string]string{}, given
	var unknown []string
	for k, v := range given {
		if specs[k] == nil {
			unknown = append(unknown, k)
			continue
		}
		c.params[k] = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &LoadError{File: c.file, Msg: "unknown parameter " + strconv.Quote(unknown[0])}
	}
	m.paramNames = order
	m.paramVars = map[string]fhirpath.Collection{}
	if specs[BundleVar] != nil {
		return &LoadError{File: c.file, Msg: "parameter " + strconv.Quote(BundleVar) + " is reserved for the enclosing Bundle"}
	}
	// %bundle: the Bundle the resource came in, empty when none
	m.paramVars[BundleVar] = nil
	c.vars = append(c.vars, BundleVar)
	for _, name := range order {
		sp := specs[name]
		if _, ok := c.params[name]; !ok {
			switch {
			case sp.def != nil:
				c.params[name] = *sp.def
			case sp.required:
				return &LoadError{File: c.file, Msg: "missing required parameter " + strconv.Quote(name)}
			default:
				continue
			}
		}
		m.paramVars[name] = fhirpath.Collection{fhirpath.String(c.params[name])}
		c.vars = append(c.vars, name)
	}
	return nil
}

// compileVars compiles `vars`; each may use the ones before it.
func (c *compiler) compileVars(m *Mapping, n ast.Node) error {
	if n == nil {
		return nil
	}
	entries, err := c.seq(n, "vars")
	if err != nil {
		return err
	}
	for _, e := range entries {
		var v mvar
		var fromN, nameN ast.Node
		if err := c.object(e, "var", map[string]func(ast.Node) error{
			"name":        func(x ast.Node) (err error) { nameN = x; v.name, err = c.str(x, "name"); return },
			"from":        func(x ast.Node) error { fromN = x; return nil },
			"description": func(x ast.Node) error { _, err := c.str(x, "description"); return err },
		}); err != nil {
			return err
		}
		if nameN == nil || fromN == nil {
			return c.errAt(e, "a var needs name and from")
		}
		for _, have := range c.vars {
			if have == v.name {
				return c.errAt(nameN, "duplicate var or parameter "+strconv.Quote(v.name))
			}
		}
		if v.expr, v.text, err = c.expr(fromN, "from"); err != nil {
			return err
		}
		m.vars = append(m.vars, v)
		c.vars = append(c.vars, v.name)
	}
	return nil
}
