package mapping

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/goccy/go-yaml/ast"
)

var (
	errNotNumber  = errors.New("value is not a number")
	errNotInteger = errors.New("value is not an integer")
	errNotBool    = errors.New("value is not a boolean")
	errNotKind    = errors.New("value has another JSON type")
)

// coerce converts a value to the JSON type named typ: string, number,
// integer, boolean, object or array.
func coerce(v *fhir.Value, typ string) (*fhir.Value, error) {
	switch typ {
	case "string":
		s, ok := text(v)
		if !ok {
			return nil, errNotPrimitive
		}
		if v.Kind == fhir.String {
			return v, nil
		}
		return fhir.NewString(s), nil
	case "number":
		if v.Kind == fhir.Number {
			return v, nil
		}
		s := strings.TrimSpace(v.Str)
		f, err := strconv.ParseFloat(s, 64)
		if v.Kind != fhir.String || err != nil || math.IsInf(f, 0) || math.IsNaN(f) || !jsonNumber(s) {
			return nil, errNotNumber
		}
		return fhir.NewNumber(s), nil
	case "integer":
		if v.Kind != fhir.String && v.Kind != fhir.Number {
			return nil, errNotInteger
		}
		s := strings.TrimSpace(v.Str)
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, errNotInteger
			}
			s = strconv.FormatInt(int64(f), 10)
		}
		if s[0] == '+' {
			s = s[1:]
		}
		return fhir.NewNumber(s), nil
	case "boolean":
		if v.Kind == fhir.Bool {
			return v, nil
		}
		switch strings.ToLower(strings.TrimSpace(v.Str)) {
		case "true":
			return fhir.NewBool(true), nil
		case "false":
			return fhir.NewBool(false), nil
		}
		return nil, errNotBool
	case "object":
		if v.Kind == fhir.Object {
			return v, nil
		}
	case "array":
		if v.Kind == fhir.Array {
			return v, nil
		}
		return fhir.NewArray(v), nil
	}
	return nil, errNotKind
}

// jsonNumber reports whether s is a valid JSON number literal.
func jsonNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	d := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == d || (s[d] == '0' && i-d > 1) {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// coerceStep applies coerce to every value.
type coerceStep string

func (t coerceStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	for i, v := range in {
		if v.Kind == fhir.Null {
			continue
		}
		c, err := coerce(v, string(t))
		if err != nil {
			return nil, err
		}
		in[i] = c
	}
	return in, nil
}

func init() {
	for _, t := range []string{"string", "number", "integer", "boolean"} {
		register(t, argNone, func(*compiler, ast.Node) (step, error) { return coerceStep(t), nil })
	}
}
