package fhirpath

import (
	"strings"
)

// astKind classifies AST nodes.
type astKind uint8

const (
	aLit     astKind = iota // literal; lit holds the value (empty for {})
	aIdent                  // member or type name at term position
	aMember                 // args[0].name
	aCall                   // function name(args[1:]) on args[0] (nil = term position)
	aIndex                  // args[0][args[1]]
	aBinary                 // args[0] name args[1]
	aUnary                  // name ("-" or "+") args[0]
	aVar                    // %name
	aSpecial                // $this, $index, $total
	aTypeOp                 // args[0] is/as typeName
)

// ast is one parsed node.
type ast struct {
	kind astKind
	name string
	lit  Collection
	args []*ast
	col  int
}

type parser struct {
	src  string
	toks []token
	pos  int
}

// parse builds the AST of src.
func parse(src string) (*ast, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tEOF {
		return nil, p.errTok(p.peek(), "empty expression")
	}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errTok(t, "unexpected token")
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *parser) errTok(t token, msg string) error {
	return &Error{Col: t.col, Msg: msg, Err: ErrSyntax}
}

// binary precedence, higher binds tighter.
func binPrec(t token) int {
	if t.kind != tOp && t.kind != tIdent {
		return -1
	}
	switch t.text {
	case "implies":
		return 1
	case "or", "xor":
		return 2
	case "and":
		return 3
	case "in", "contains":
		return 4
	case "=", "~", "!=", "!~":
		return 5
	case "<", ">", "<=", ">=":
		return 6
	case "|":
		return 7
	case "is", "as":
		return 8
	case "+", "-", "&":
		return 9
	case "*", "/", "div", "mod":
		return 10
	}
	return -1
}

func (p *parser) expr(min int) (*ast, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		prec := binPrec(t)
		if prec < 0 || prec <= min-1 || prec < min {
			return left, nil
		}
		p.next()
		if t.text == "is" || t.text == "as" {
			tcol := p.peek().col
			name, err := p.typeSpec()
			if err != nil {
				return nil, err
			}
			left = &ast{kind: aTypeOp, name: t.text, args: []*ast{left, {kind: aIdent, name: name, col: tcol}}, col: t.col}
			continue
		}
		right, err := p.expr(prec + 1)
		if err != nil {
			return nil, err
		}
		left = &ast{kind: aBinary, name: t.text, args: []*ast{left, right}, col: t.col}
	}
}

// typeSpec reads a possibly qualified type name.
func (p *parser) typeSpec() (string, error) {
	var parts []string
	for {
		t := p.next()
		if t.kind != tIdent && t.kind != tDelimIdent {
			return "", p.errTok(t, "expected a type name")
		}
		parts = append(parts, t.text)
		if n := p.peek(); n.kind == tOp && n.text == "." {
			p.next()
			continue
		}
		return strings.Join(parts, "."), nil
	}
}

func (p *parser) unary() (*ast, error) {
	t := p.peek()
	if t.kind == tOp && (t.text == "-" || t.text == "+") {
		p.next()
		arg, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &ast{kind: aUnary, name: t.text, args: []*ast{arg}, col: t.col}, nil
	}
	return p.postfix()
}

func (p *parser) postfix() (*ast, error) {
	n, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp {
			return n, nil
		}
		switch t.text {
		case ".":
			p.next()
			id := p.next()
			if id.kind != tIdent && id.kind != tDelimIdent {
				return nil, p.errTok(id, "expected a name after '.'")
			}
			if nx := p.peek(); id.kind == tIdent && nx.kind == tOp && nx.text == "(" {
				args, err := p.callArgs()
				if err != nil {
					return nil, err
				}
				n = &ast{kind: aCall, name: id.text, args: append([]*ast{n}, args...), col: id.col}
			} else {
				n = &ast{kind: aMember, name: id.text, args: []*ast{n}, col: id.col}
			}
		case "[":
			p.next()
			idx, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tOp || c.text != "]" {
				return nil, p.errTok(c, "expected ']'")
			}
			n = &ast{kind: aIndex, args: []*ast{n, idx}, col: t.col}
		default:
			return n, nil
		}
	}
}

// callArgs reads "(" args ")".
func (p *parser) callArgs() ([]*ast, error) {
	p.next() // (
	var args []*ast
	if t := p.peek(); t.kind == tOp && t.text == ")" {
		p.next()
		return args, nil
	}
	for {
		a, err := p.expr(0)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		t := p.next()
		if t.kind == tOp && t.text == ")" {
			return args, nil
		}
		if t.kind != tOp || t.text != "," {
			return nil, p.errTok(t, "expected ',' or ')'")
		}
	}
}

func (p *parser) term() (*ast, error) {
	t := p.next()
	switch t.kind {
	case tNumber:
		return p.number(t)
	case tString:
		return &ast{kind: aLit, lit: Collection{String(t.text)}, col: t.col}, nil
	case tDate:
		it, err := dateLiteral(t.text)
		if err != nil {
			return nil, p.errTok(t, "invalid date/time literal")
		}
		return &ast{kind: aLit, lit: Collection{it}, col: t.col}, nil
	case tTime:
		if _, ok := parseTemporal(t.text, kTime); !ok {
			return nil, p.errTok(t, "invalid time literal")
		}
		return &ast{kind: aLit, lit: Collection{{k: kTime, s: t.text}}, col: t.col}, nil
	case tExtConst:
		return &ast{kind: aVar, name: t.text, col: t.col}, nil
	case tSpecial:
		return &ast{kind: aSpecial, name: t.text, col: t.col}, nil
	case tDelimIdent:
		return &ast{kind: aIdent, name: t.text, col: t.col}, nil
	case tIdent:
		if nx := p.peek(); nx.kind == tOp && nx.text == "(" {
			args, err := p.callArgs()
			if err != nil {
				return nil, err
			}
			return &ast{kind: aCall, name: t.text, args: append([]*ast{nil}, args...), col: t.col}, nil
		}
		switch t.text {
		case "true", "false":
			return &ast{kind: aLit, lit: Collection{Boolean(t.text == "true")}, col: t.col}, nil
		}
		return &ast{kind: aIdent, name: t.text, col: t.col}, nil
	case tOp:
		switch t.text {
		case "(":
			n, err := p.expr(0)
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tOp || c.text != ")" {
				return nil, p.errTok(c, "expected ')'")
			}
			return n, nil
		case "{":
			if c := p.next(); c.kind != tOp || c.text != "}" {
				return nil, p.errTok(c, "expected '}'")
			}
			return &ast{kind: aLit, col: t.col}, nil
		}
	}
	if t.kind == tEOF {
		return nil, p.errTok(t, "unexpected end of expression")
	}
	return nil, p.errTok(t, "unexpected token")
}

// number reads a number literal, possibly followed by a unit (quantity).
func (p *parser) number(t token) (*ast, error) {
	nx := p.peek()
	unit := ""
	if nx.kind == tString {
		unit = nx.text
		p.next()
	} else if nx.kind == tIdent {
		if _, ok := calendarUnits[nx.text]; ok {
			unit = nx.text
			p.next()
		}
	}
	var it Item
	if unit != "" {
		q, ok := parseQuantityText(t.text, unit)
		if !ok {
			return nil, p.errTok(t, "invalid quantity literal")
		}
		it = q
	} else {
		n, ok := parseNumber(t.text)
		if !ok {
			return nil, p.errTok(t, "invalid number literal")
		}
		it = n
	}
	return &ast{kind: aLit, lit: Collection{it}, col: t.col}, nil
}
