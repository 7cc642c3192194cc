package casetest

import (
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/goccy/go-yaml/ast"
)

// dec decodes the cases file AST strictly.
type dec struct{ file string }

func (d *dec) errAt(line, col int, msg string) error {
	return &mapping.LoadError{File: d.file, Line: line, Col: col, Msg: msg}
}

func (d *dec) errNode(n ast.Node, msg string) error {
	switch t := unwrap(n).(type) {
	case *ast.MappingNode:
		if len(t.Values) > 0 {
			n = t.Values[0].Key
		}
	case *ast.MappingValueNode:
		n = t.Key
	}
	if n != nil && n.GetToken() != nil {
		p := n.GetToken().Position
		return d.errAt(p.Line, p.Column, msg)
	}
	return d.errAt(0, 0, msg)
}

func unwrap(n ast.Node) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		default:
			return n
		}
	}
}

func pairs(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch t := unwrap(n).(type) {
	case *ast.MappingNode:
		return t.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{t}, true
	}
	return nil, false
}

func keyOf(kv *ast.MappingValueNode) string {
	k := unwrap(kv.Key)
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	return k.GetToken().Value
}

func (d *dec) cases(body ast.Node) ([]Case, error) {
	ps, ok := pairs(body)
	if !ok || len(ps) != 1 || keyOf(ps[0]) != "cases" {
		return nil, d.errNode(body, "a cases file is a mapping with the single key cases")
	}
	list, ok := unwrap(ps[0].Value).(*ast.SequenceNode)
	if !ok {
		return nil, d.errNode(ps[0].Value, "cases must be a list")
	}
	var out []Case
	for _, e := range list.Values {
		c, err := d.oneCase(e)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (d *dec) oneCase(e ast.Node) (Case, error) {
	var c Case
	ps, ok := pairs(e)
	if !ok {
		return c, d.errNode(e, "a case must be a mapping")
	}
	for _, kv := range ps {
		v := kv.Value
		var err error
		switch k := keyOf(kv); k {
		case "name", "description", "error":
			var val *fhir.Value
			if val, err = d.value(v); err == nil && val.Kind != fhir.String {
				err = d.errNode(v, k+" must be a string")
			}
			if err != nil {
				return c, err
			}
			if k == "name" {
				c.Name = val.Str
			} else if k == "error" {
				c.Error = val.Str
			}
		case "params":
			c.Params, err = d.params(v)
		case "input":
			c.Input, err = d.value(v)
		case "expect":
			var val *fhir.Value
			if val, err = d.value(v); err == nil && val.Kind != fhir.Array {
				err = d.errNode(v, "expect must be a list of records")
			} else if err == nil {
				c.Expect = val.Items
			}
		default:
			err = d.errNode(kv.Key, "unknown key "+strconv.Quote(k)+" in case")
		}
		if err != nil {
			return c, err
		}
	}
	switch {
	case c.Name == "":
		return c, d.errNode(e, "case has no name")
	case c.Input == nil:
		return c, d.errNode(e, "case "+strconv.Quote(c.Name)+" has no input")
	case c.Error != "" && c.Expect != nil:
		return c, d.errNode(e, "case "+strconv.Quote(c.Name)+" has both expect and error")
	}
	return c, nil
}

func (d *dec) params(n ast.Node) (map[string]string, error) {
	v, err := d.value(n)
	if err != nil {
		return nil, err
	}
	if v.Kind != fhir.Object {
		return nil, d.errNode(n, "params must be a mapping")
	}
	out := map[string]string{}
	for _, m := range v.Members {
		if m.Value.Kind == fhir.Object || m.Value.Kind == fhir.Array || m.Value.Kind == fhir.Null {
			return nil, d.errNode(n, "param "+strconv.Quote(m.Key)+" must be a scalar")
		}
		out[m.Key] = m.Value.Str
	}
	return out, nil
}

// value converts YAML to a JSON value as mapping files are read.
func (d *dec) value(n ast.Node) (*fhir.Value, error) { return mapping.YAMLValue(d.file, n) }
