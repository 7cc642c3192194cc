package connectors

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrPathSegment: a value to be placed in a URL path is empty, "." or
// "..". An empty value changes which resource a path names; "." and ".."
// are path steps that a server or proxy may resolve to another resource.
var ErrPathSegment = errors.New(`a URL path value must not be empty, "." or ".."`)

// ErrPathTemplate: a path template's placeholders do not match the values
// given for them (a programming or configuration error).
var ErrPathTemplate = errors.New("URL path template and values do not match")

// Path is a URL path built by PathOf: literal parts from a template, and
// values escaped with url.PathEscape so that none can add, remove or walk
// a segment. Connectors build every vendor URL path this way, never by
// string concatenation (a test in this package enforces it).
//
// A Path that could not be built carries its error (Err, URL), so call
// sites stay one expression and the request fails before it is sent.
type Path struct {
	tmpl    string // the template, which holds no value
	raw     string // the decoded path (url.URL.Path)
	escaped string // the escaped path (url.URL.RawPath)
	err     error
}

// PathOf fills the placeholders of tmpl ("{name}"; the name documents the
// value and is not otherwise used) with vals, in order. Each value is
// escaped with url.PathEscape; one that is empty, "." or ".." makes the
// Path fail with ErrPathSegment, and a count of values that differs from
// the count of placeholders with ErrPathTemplate. Literal parts of tmpl
// are escaped segment by segment, so a template with a space stays valid.
func PathOf(tmpl string, vals ...string) Path {
	p := Path{tmpl: tmpl}
	var raw, esc strings.Builder
	rest, n := tmpl, 0
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			raw.WriteString(rest)
			esc.WriteString(escapeLiteral(rest))
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			p.err = fmt.Errorf("building path %s: unclosed placeholder: %w", tmpl, ErrPathTemplate)
			return p
		}
		name := rest[open : open+end+1]
		raw.WriteString(rest[:open])
		esc.WriteString(escapeLiteral(rest[:open]))
		if n >= len(vals) {
			p.err = fmt.Errorf("building path %s: no value for placeholder %d %s: %w", tmpl, n+1, name, ErrPathTemplate)
			return p
		}
		v := vals[n]
		if v == "" || v == "." || v == ".." {
			p.err = fmt.Errorf("building path %s: value for %s is %q: %w", tmpl, name, v, ErrPathSegment)
			return p
		}
		raw.WriteString(v)
		esc.WriteString(url.PathEscape(v))
		rest, n = rest[open+end+1:], n+1
	}
	if n != len(vals) {
		p.err = fmt.Errorf("building path %s: %d placeholders for %d values: %w", tmpl, n, len(vals), ErrPathTemplate)
		return p
	}
	p.raw, p.escaped = raw.String(), esc.String()
	return p
}

// escapeLiteral escapes each segment of a template's literal part.
func escapeLiteral(s string) string {
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// String returns the escaped path ("/patients/a%2Fb"), or the template
// when the Path failed.
func (p Path) String() string {
	if p.err != nil {
		return p.tmpl
	}
	return p.escaped
}

// Template returns the template the Path was built from ("/patients/{id}"):
// what a log line or error may show when the values must not appear.
func (p Path) Template() string { return p.tmpl }

// Err returns why the Path could not be built, or nil.
func (p Path) Err() error { return p.err }

// URL returns base with the Path appended to base's own path (kept as a
// prefix, without a trailing slash); base's query and fragment are
// dropped. It returns the Path's error when it has one.
func (p Path) URL(base *url.URL) (*url.URL, error) {
	if p.err != nil {
		return nil, p.err
	}
	u := *base
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	u.RawPath = strings.TrimSuffix(base.EscapedPath(), "/") + p.escaped
	u.Path = strings.TrimSuffix(base.Path, "/") + p.raw
	return &u, nil
}
