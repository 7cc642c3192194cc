package fhirpath

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// strInput reads the single string input of a string function; ok false
// means the input is empty.
func strInput(in Collection, name string) (string, bool, error) {
	it, ok, err := singleton(in, name+"()")
	if err != nil || !ok {
		return "", false, err
	}
	p := it.prim()
	if p.k != kStr {
		return "", false, evalError(name + "() expects a string input")
	}
	return p.s, true, nil
}

// strArg evaluates argument i as a string; ok false means empty.
func strArg(c *ctx, cl *call, i int, outer Collection) (string, bool, error) {
	it, ok, err := cl.argItem(c, i, outer)
	if err != nil || !ok {
		return "", false, err
	}
	if it.k != kStr {
		return "", false, evalError(cl.name + "() expects a string argument")
	}
	return it.s, true, nil
}

// strFn registers a function of a string input and string arguments.
func strFn(name string, nargs int, f func(c *ctx, s string, args []string) (Collection, error)) {
	register(name, nargs, nargs, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		s, ok, err := strInput(in, name)
		if err != nil || !ok {
			return nil, err
		}
		var buf [3]string
		args := buf[:nargs]
		for i := range args {
			a, ok, err := strArg(c, cl, i, outer)
			if err != nil || !ok {
				return nil, err
			}
			args[i] = a
		}
		return f(c, s, args)
	})
}

var regexCache sync.Map // pattern -> *regexp.Regexp

func compileRegex(p string) (*regexp.Regexp, error) {
	if r, ok := regexCache.Load(p); ok {
		return r.(*regexp.Regexp), nil
	}
	r, err := regexp.Compile("(?s)" + p)
	if err != nil {
		return nil, evalError("invalid regular expression")
	}
	regexCache.Store(p, r)
	return r, nil
}

func init() {
	strFn("startsWith", 1, func(c *ctx, s string, a []string) (Collection, error) {
		return boolColl(strings.HasPrefix(s, a[0])), nil
	})
	strFn("endsWith", 1, func(c *ctx, s string, a []string) (Collection, error) {
		return boolColl(strings.HasSuffix(s, a[0])), nil
	})
	strFn("contains", 1, func(c *ctx, s string, a []string) (Collection, error) {
		return boolColl(strings.Contains(s, a[0])), nil
	})
	strFn("indexOf", 1, func(c *ctx, s string, a []string) (Collection, error) {
		i := strings.Index(s, a[0])
		if i > 0 {
			i = utf8.RuneCountInString(s[:i])
		}
		return c.one(Integer(int64(i))), nil
	})
	strFn("upper", 0, func(c *ctx, s string, _ []string) (Collection, error) { return c.one(String(strings.ToUpper(s))), nil })
	strFn("lower", 0, func(c *ctx, s string, _ []string) (Collection, error) { return c.one(String(strings.ToLower(s))), nil })
	strFn("trim", 0, func(c *ctx, s string, _ []string) (Collection, error) {
		return c.one(String(strings.TrimSpace(s))), nil
	})
	strFn("length", 0, func(c *ctx, s string, _ []string) (Collection, error) {
		return c.one(Integer(int64(utf8.RuneCountInString(s)))), nil
	})
	strFn("toChars", 0, func(c *ctx, s string, _ []string) (Collection, error) {
		out := make(Collection, 0, len(s))
		for _, r := range s {
			out = append(out, String(string(r)))
		}
		return out, nil
	})
	strFn("replace", 2, func(c *ctx, s string, a []string) (Collection, error) {
		return c.one(String(strings.ReplaceAll(s, a[0], a[1]))), nil
	})
	strFn("matches", 1, func(c *ctx, s string, a []string) (Collection, error) {
		r, err := compileRegex(a[0])
		if err != nil {
			return nil, err
		}
		return boolColl(r.MatchString(s)), nil
	})
	strFn("replaceMatches", 2, func(c *ctx, s string, a []string) (Collection, error) {
		if a[0] == "" {
			return c.one(String(s)), nil
		}
		r, err := compileRegex(a[0])
		if err != nil {
			return nil, err
		}
		return c.one(String(r.ReplaceAllString(s, a[1]))), nil
	})
	strFn("split", 1, func(c *ctx, s string, a []string) (Collection, error) {
		parts := strings.Split(s, a[0])
		out := make(Collection, len(parts))
		for i, p := range parts {
			out[i] = String(p)
		}
		return out, nil
	})
	register("join", 0, 1, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		sep := ""
		if len(cl.args) > 0 {
			s, _, err := strArg(c, cl, 0, outer)
			if err != nil {
				return nil, err
			}
			sep = s
		}
		parts := make([]string, 0, len(in))
		for _, it := range in {
			s, _ := it.AsString()
			parts = append(parts, s)
		}
		return c.one(String(strings.Join(parts, sep))), nil
	})
	register("substring", 1, 2, func(c *ctx, in, outer Collection, cl *call) (Collection, error) {
		s, ok, err := strInput(in, "substring")
		if err != nil || !ok {
			return nil, err
		}
		start, ok, err := cl.argItem(c, 0, outer)
		if err != nil || !ok {
			return nil, err
		}
		if start.k != kInt {
			return nil, evalError("substring() expects integer arguments")
		}
		r := []rune(s)
		if start.i < 0 || start.i >= int64(len(r)) {
			return nil, nil
		}
		end := int64(len(r))
		if len(cl.args) > 1 {
			n, ok, err := cl.argItem(c, 1, outer)
			if err != nil {
				return nil, err
			}
			if ok {
				if n.k != kInt {
					return nil, evalError("substring() expects integer arguments")
				}
				end = min(end, start.i+max(n.i, 0))
			}
		}
		return c.one(String(string(r[start.i:end]))), nil
	})
}
