package mapping

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/csvsafe"
	"github.com/goccy/go-yaml/ast"
)

var (
	errNotPrimitive = errors.New("value is not a string, number or boolean")
	errTooLong      = errors.New("value is longer than the maximum")
)

// text returns the text of a primitive value.
func text(v *fhir.Value) (string, bool) {
	switch v.Kind {
	case fhir.String, fhir.Number, fhir.Bool:
		return v.Str, true
	case fhir.Null:
		return "", true
	}
	return "", false
}

// stringStep applies a string function to every value.
type stringStep func(s string) (string, error)

func (f stringStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	for i, v := range in {
		s, ok := text(v)
		if !ok {
			return nil, errNotPrimitive
		}
		r, err := f(s)
		if err != nil {
			return nil, err
		}
		if r != s || v.Kind != fhir.String {
			in[i] = fhir.NewString(r)
		}
	}
	return in, nil
}

// simple registers a transform without argument from a string function.
func simple(name string, f func(string) string) {
	register(name, argNone, func(*compiler, ast.Node) (step, error) {
		return stringStep(func(s string) (string, error) { return f(s), nil }), nil
	})
}

// withString registers a transform whose argument is one string.
func withString(name string, f func(arg, s string) string) {
	register(name, argRequired, func(c *compiler, n ast.Node) (step, error) {
		a, err := c.scalarText(n, name)
		if err != nil {
			return nil, err
		}
		return stringStep(func(s string) (string, error) { return f(a, s), nil }), nil
	})
}

func init() {
	simple("upper", strings.ToUpper)
	simple("lower", strings.ToLower)
	simple("trim", strings.TrimSpace)
	simple("digits", digits)
	withString("prefix", func(a, s string) string { return a + s })
	withString("suffix", func(a, s string) string { return s + a })
	register("csv_escape", argNone, func(*compiler, ast.Node) (step, error) { return csvEscape{}, nil })
	register("truncate", argRequired, newTruncate)
	register("replace", argRequired, newReplace)
	register("join", argRequired, newJoin)
	register("default", argRequired, newDefault)
}

// digits keeps the digits of s, and a leading + if present.
func digits(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c == '+' && len(b) == 0 && strings.TrimSpace(s[:i]) == "" {
			b = append(b, c)
		}
	}
	return string(b)
}

// csvEscape defuses spreadsheet formula injection with csvsafe.Escape:
// text starting with = + - @ TAB or CR gets a leading apostrophe, unless
// the whole text is a plain number such as -12.5 or +34600111222.
type csvEscape struct{}

func (csvEscape) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	for i, v := range in {
		if v.Kind != fhir.String {
			continue
		}
		if e := csvsafe.Escape(v.Str); len(e) != len(v.Str) {
			in[i] = fhir.NewString(e)
		}
	}
	return in, nil
}

func newTruncate(c *compiler, n ast.Node) (step, error) {
	max, cut := -1, false
	err := c.argObject("truncate", n, map[string]func(ast.Node) error{
		"max": func(v ast.Node) (err error) { max, err = c.integer(v, "max"); return },
		"overflow": func(v ast.Node) error {
			var o string
			err := c.oneOf(v, "overflow", &o, "refuse", "cut")
			cut = o == "cut"
			return err
		},
	})
	if err != nil {
		return nil, err
	}
	if max < 1 {
		return nil, c.errAt(n, "truncate needs max >= 1")
	}
	return stringStep(func(s string) (string, error) {
		if len(s) <= max || utf8.RuneCountInString(s) <= max {
			return s, nil
		}
		if !cut {
			return "", errTooLong
		}
		i, k := 0, 0
		for i = range s {
			if k == max {
				break
			}
			k++
		}
		return s[:i], nil
	}), nil
}

func newReplace(c *compiler, n ast.Node) (step, error) {
	var re *regexp.Regexp
	var with string
	haveWith := false
	err := c.argObject("replace", n, map[string]func(ast.Node) error{
		"pattern": func(v ast.Node) error {
			p, err := c.str(v, "pattern")
			if err != nil {
				return err
			}
			if re, err = regexp.Compile(p); err != nil {
				return c.errAt(v, "invalid pattern: "+err.Error())
			}
			return nil
		},
		"with": func(v ast.Node) (err error) { haveWith = true; with, err = c.scalarText(v, "with"); return },
	})
	if err != nil {
		return nil, err
	}
	if re == nil || !haveWith {
		return nil, c.errAt(n, "replace needs pattern and with")
	}
	return stringStep(func(s string) (string, error) { return re.ReplaceAllString(s, with), nil }), nil
}

// joinStep joins all values into one string; nothing stays nothing.
type joinStep string

func (sep joinStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	var b []byte
	n := 0
	for _, v := range in {
		s, ok := text(v)
		if !ok {
			return nil, errNotPrimitive
		}
		if s == "" {
			continue
		}
		if n > 0 {
			b = append(b, sep...)
		}
		b = append(b, s...)
		n++
	}
	if n == 0 {
		return in[:0], nil
	}
	in = in[:1]
	in[0] = fhir.NewString(string(b))
	return in, nil
}

func newJoin(c *compiler, n ast.Node) (step, error) {
	s, err := c.str(n, "join separator")
	return joinStep(s), err
}

// defaultStep supplies a value when there is none (or only "").
type defaultStep struct {
	v     *fhir.Value
	where string // for Mapping.Constants
}

func (d defaultStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	if len(in) == 0 || len(in) == 1 && isEmpty(in[0]) {
		return append(in[:0], d.v), nil
	}
	return in, nil
}

func newDefault(c *compiler, n ast.Node) (step, error) {
	s, err := c.paramText(n, "default")
	if err != nil {
		return nil, err
	}
	v, _ := c.value(n)
	where := c.file + ": default"
	if v.Kind == fhir.String {
		if p, isParam := strings.CutPrefix(v.Str, "%"); isParam && p != "" {
			where = c.paramWhere(p)
		}
		v = fhir.NewString(s)
	}
	return defaultStep{v: v, where: where}, nil
}
