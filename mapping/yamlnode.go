package mapping

import (
	"errors"
	"math"
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// dec walks a go-yaml AST strictly, turning every problem into a
// *LoadError positioned at the offending node.
type dec struct {
	file string
}

// parseYAML parses src into its single document body.
func (d *dec) parseYAML(src []byte) (ast.Node, error) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		var ye yaml.Error
		if errors.As(err, &ye) && ye.GetToken() != nil {
			p := ye.GetToken().Position
			return nil, &LoadError{File: d.file, Line: p.Line, Col: p.Column, Msg: ye.GetMessage()}
		}
		return nil, &LoadError{File: d.file, Msg: "invalid YAML"}
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &LoadError{File: d.file, Line: 1, Col: 1, Msg: "expected exactly one YAML document"}
	}
	return f.Docs[0].Body, nil
}

// errAt returns a LoadError at n.
func (d *dec) errAt(n ast.Node, msg string) *LoadError {
	e := &LoadError{File: d.file, Msg: msg}
	switch t := unwrap(n).(type) {
	case *ast.MappingNode:
		if len(t.Values) > 0 {
			n = t.Values[0].Key
		}
	case *ast.MappingValueNode:
		n = t.Key
	}
	if n != nil {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			e.Line, e.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return e
}

// unwrap skips anchors and tags.
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

// pairs returns the key/value pairs of a mapping node.
func (d *dec) pairs(n ast.Node, what string) ([]*ast.MappingValueNode, error) {
	switch t := unwrap(n).(type) {
	case *ast.MappingNode:
		return t.Values, nil
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{t}, nil
	case *ast.AliasNode:
		return nil, d.errAt(n, "YAML aliases are not supported")
	}
	return nil, d.errAt(n, what+" must be a mapping")
}

// keyOf returns the text of a mapping key.
func keyOf(kv *ast.MappingValueNode) string {
	k := unwrap(kv.Key)
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// object decodes a mapping whose keys must all be in handlers.
func (d *dec) object(n ast.Node, what string, handlers map[string]func(ast.Node) error) error {
	ps, err := d.pairs(n, what)
	if err != nil {
		return err
	}
	for _, kv := range ps {
		k := keyOf(kv)
		h, ok := handlers[k]
		if !ok {
			return d.errAt(kv.Key, "unknown key "+strconv.Quote(k)+" in "+what)
		}
		if err := h(kv.Value); err != nil {
			return err
		}
	}
	return nil
}

// isNull reports whether n is an explicit or implicit null.
func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := unwrap(n).(*ast.NullNode)
	return ok
}

// str decodes a string scalar. Numbers and booleans written without quotes
// are refused, so that "01" and "yes" surprises are caught.
func (d *dec) str(n ast.Node, what string) (string, error) {
	switch t := unwrap(n).(type) {
	case *ast.StringNode:
		return t.Value, nil
	case *ast.LiteralNode:
		return t.Value.Value, nil
	}
	return "", d.errAt(n, what+" must be a string")
}

// scalarText decodes any scalar (string, number, bool) as text.
func (d *dec) scalarText(n ast.Node, what string) (string, error) {
	v, err := d.value(n)
	if err != nil {
		return "", err
	}
	switch v.Kind {
	case fhir.String, fhir.Number, fhir.Bool:
		return v.Str, nil
	}
	return "", d.errAt(n, what+" must be a string, number or boolean")
}

// integer decodes an integer scalar.
func (d *dec) integer(n ast.Node, what string) (int, error) {
	if t, ok := unwrap(n).(*ast.IntegerNode); ok {
		switch v := t.Value.(type) {
		case int64:
			if v >= math.MinInt32 && v <= math.MaxInt32 {
				return int(v), nil
			}
		case uint64:
			if v <= math.MaxInt32 {
				return int(v), nil
			}
		}
		return 0, d.errAt(n, what+" is out of range")
	}
	return 0, d.errAt(n, what+" must be an integer")
}

// boolean decodes a boolean scalar.
func (d *dec) boolean(n ast.Node, what string) (bool, error) {
	if t, ok := unwrap(n).(*ast.BoolNode); ok {
		return t.Value, nil
	}
	return false, d.errAt(n, what+" must be true or false")
}

// seq returns the entries of a sequence node.
func (d *dec) seq(n ast.Node, what string) ([]ast.Node, error) {
	switch t := unwrap(n).(type) {
	case *ast.SequenceNode:
		return t.Values, nil
	case *ast.AliasNode:
		return nil, d.errAt(n, "YAML aliases are not supported")
	}
	return nil, d.errAt(n, what+" must be a list")
}

// strList decodes a list of strings.
func (d *dec) strList(n ast.Node, what string) ([]string, error) {
	items, err := d.seq(n, what)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := d.str(it, what+" entry")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// value converts any YAML node to a JSON value, keeping key order and
// numbers as numbers.
func (d *dec) value(n ast.Node) (*fhir.Value, error) {
	switch t := unwrap(n).(type) {
	case nil, *ast.NullNode:
		return &fhir.Value{Kind: fhir.Null}, nil
	case *ast.StringNode:
		return fhir.NewString(t.Value), nil
	case *ast.LiteralNode:
		return fhir.NewString(t.Value.Value), nil
	case *ast.BoolNode:
		return fhir.NewBool(t.Value), nil
	case *ast.IntegerNode:
		switch v := t.Value.(type) {
		case int64:
			return fhir.NewNumber(strconv.FormatInt(v, 10)), nil
		case uint64:
			return fhir.NewNumber(strconv.FormatUint(v, 10)), nil
		}
	case *ast.FloatNode:
		if math.IsInf(t.Value, 0) || math.IsNaN(t.Value) {
			break
		}
		return fhir.NewNumber(strconv.FormatFloat(t.Value, 'g', -1, 64)), nil
	case *ast.SequenceNode:
		arr := fhir.NewArray()
		for _, it := range t.Values {
			v, err := d.value(it)
			if err != nil {
				return nil, err
			}
			arr.Items = append(arr.Items, v)
		}
		return arr, nil
	case *ast.MappingNode, *ast.MappingValueNode:
		ps, _ := d.pairs(t, "")
		obj := fhir.NewObject()
		for _, kv := range ps {
			v, err := d.value(kv.Value)
			if err != nil {
				return nil, err
			}
			obj.Members = append(obj.Members, fhir.Member{Key: keyOf(kv), Value: v})
		}
		return obj, nil
	case *ast.AliasNode:
		return nil, d.errAt(n, "YAML aliases are not supported")
	}
	return nil, d.errAt(n, "unsupported YAML value")
}

// YAMLValue converts a YAML node of file (a test-case input, say) to a JSON
// value the way mapping files are read: key order kept, numbers as numbers,
// aliases refused. A failure is a *LoadError with the node's line and column.
func YAMLValue(file string, n ast.Node) (*fhir.Value, error) {
	d := &dec{file: file}
	v, err := d.value(n)
	if err != nil {
		return nil, err
	}
	return v, nil
}
