package fhirpath

import (
	"errors"
	"strings"
)

// ErrUnknownElement is wrapped when an expression names an element that
// the R4 type at that point does not define (see Options.Context).
var ErrUnknownElement = errors.New("fhirpath: unknown element")

// Unknown is the element name of an ErrUnknownElement error and
// Suggestion the nearest element name R4 defines there ("" when none is
// near), so that callers can say "did you mean …".
type Unknown struct {
	Type, Name, Suggestion string
}

// sameType lists the functions whose result has the type of their input.
var sameType = map[string]bool{
	"where": true, "first": true, "last": true, "tail": true, "skip": true, "take": true,
	"single": true, "distinct": true, "intersect": true, "exclude": true, "trace": true,
}

// lambda lists the functions whose arguments are evaluated with each input
// item as $this.
var lambda = map[string]bool{
	"where": true, "select": true, "all": true, "exists": true, "repeat": true, "aggregate": true,
}

// checker infers FHIR types over the AST and refuses unknown elements.
// A type "" means unknown (a choice, any Resource, a System value): no
// element of it is checked, so the checker refuses only paths R4 itself
// refuses.
type checker struct {
	model  map[string]*r4Type
	strict bool
}

// unordered is the type of children() and descendants() results in
// strict mode: unknown elements, in no defined order.
const unordered = "(unordered)"

// ordered lists the functions whose result depends on the input's order.
var ordered = map[string]bool{"first": true, "last": true, "tail": true, "skip": true, "take": true}

// typeSpec returns the type named by a type specifier argument.
func typeSpec(a *ast) string {
	switch a.kind {
	case aIdent:
		return strings.TrimPrefix(a.name, "FHIR.")
	case aMember:
		if a.args[0].kind == aIdent && a.args[0].name == "FHIR" {
			return a.name
		}
	}
	return ""
}

// known returns t when the model defines it, else "".
func (ck *checker) known(t string) string {
	if _, ok := ck.model[t]; ok {
		return t
	}
	return ""
}

// member returns the type of element name of t, or an error.
func (ck *checker) member(t, name string, col int) (string, error) {
	rt := ck.model[t]
	if t == "" || rt == nil {
		return "", nil
	}
	if el, ok := rt.elems[name]; ok && !(ck.strict && el.choice) {
		return el.typ, nil
	}
	if name == "resourceType" && !strings.Contains(t, ".") && !rt.primitive {
		return "", nil
	}
	u := &Unknown{Type: t, Name: name, Suggestion: suggest(name, rt.names)}
	msg := "R4 " + t + " has no element " + name
	if u.Suggestion != "" {
		msg += " (did you mean " + u.Suggestion + "?)"
	}
	return "", &Error{Col: col, Msg: msg, Err: ErrUnknownElement, Unknown: u}
}

// check returns the type of a evaluated with focus type focus.
func (ck *checker) check(a *ast, focus string) (string, error) {
	switch a.kind {
	case aIdent:
		if a.name != "" && a.name[0] >= 'A' && a.name[0] <= 'Z' {
			if _, isElem := ck.model[focus].elemOK(a.name); !isElem {
				if t := ck.known(a.name); t != "" && (focus == "" || focus == t) {
					return t, nil // type-prefixed path: Appointment.start
				}
				if ck.strict && ck.model[focus] != nil {
					return "", &Error{Col: a.col, Msg: "the context is " + focus + ", not " + a.name, Err: ErrUnknownElement}
				}
				return "", nil // another type's name: empty, not an error
			}
		}
		return ck.member(focus, a.name, a.col)
	case aMember:
		t, err := ck.check(a.args[0], focus)
		if err != nil {
			return "", err
		}
		return ck.member(t, a.name, a.col)
	case aIndex:
		t, err := ck.check(a.args[0], focus)
		if err != nil {
			return "", err
		}
		if ck.strict && t == unordered {
			return "", &Error{Col: a.col, Msg: "indexing depends on order, and the input of children()/descendants() has none", Err: ErrUnknownElement}
		}
		if _, err := ck.check(a.args[1], focus); err != nil {
			return "", err
		}
		return t, nil
	case aSpecial:
		if a.name == "$this" {
			return focus, nil
		}
		return "", nil
	case aTypeOp:
		if _, err := ck.check(a.args[0], focus); err != nil {
			return "", err
		}
		if a.name == "as" {
			return ck.known(typeSpec(a.args[1])), nil
		}
		return "", nil
	case aUnary:
		_, err := ck.check(a.args[0], focus)
		return "", err
	case aBinary:
		l, err := ck.check(a.args[0], focus)
		if err != nil {
			return "", err
		}
		r, err := ck.check(a.args[1], focus)
		if err != nil {
			return "", err
		}
		if a.name == "|" && l == r {
			return l, nil
		}
		return "", nil
	case aCall:
		return ck.call(a, focus)
	}
	return "", nil
}

// call types a function call.
func (ck *checker) call(a *ast, focus string) (string, error) {
	in := focus
	if a.args[0] != nil {
		var err error
		if in, err = ck.check(a.args[0], focus); err != nil {
			return "", err
		}
	}
	if ck.strict && in == unordered && (ordered[a.name] || a.name == "") {
		return "", &Error{Col: a.col, Msg: a.name + "() depends on order, and the input of children()/descendants() has none", Err: ErrUnknownElement}
	}
	if functions[a.name].typeArg {
		if a.name == "ofType" || a.name == "as" {
			return ck.known(typeSpec(a.args[1])), nil
		}
		return "", nil
	}
	argFocus := ""
	if lambda[a.name] {
		argFocus = in
	}
	var last string
	for _, arg := range a.args[1:] {
		t, err := ck.check(arg, argFocus)
		if err != nil {
			return "", err
		}
		last = t
	}
	switch {
	case sameType[a.name]:
		return in, nil
	case a.name == "select" && len(a.args) == 2:
		return last, nil
	case a.name == "extension":
		return "Extension", nil
	case ck.strict && (a.name == "children" || a.name == "descendants"):
		return unordered, nil
	}
	return "", nil
}

// elemOK looks up name on t, which may be nil.
func (t *r4Type) elemOK(name string) (r4Elem, bool) {
	if t == nil {
		return r4Elem{}, false
	}
	el, ok := t.elems[name]
	return el, ok
}
