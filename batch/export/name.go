package export

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultNamePattern names the export file when Spec.NamePattern is empty:
// appointments_20261201T0600.csv for an export at 06:00 on 1 December 2026
// in the job's time zone.
const DefaultNamePattern = "appointments_{time}.csv"

// ErrNamePattern is matched by the errors of ParseNamePattern.
var ErrNamePattern = errors.New("invalid file name pattern")

// NamePattern is a parsed file name pattern. The syntax:
//
//	{time}          export time as yyyyMMddTHHmm   (20261201T0600)
//	{date}          export date as yyyyMMdd        (20261201)
//	{time:LAYOUT}   export time with LAYOUT, made of the tokens yyyy, yy,
//	                MM, dd, HH, mm, ss and the characters - _ . T
//	{job}           the job's name
//
// Times are formatted in the job's time zone. Outside placeholders the
// pattern may hold ASCII letters, digits, '-', '_', '.' and '/' between
// folders (relative to the remote's base; no empty, "." or ".." part). The
// zero NamePattern is not valid; use ParseNamePattern.
type NamePattern struct {
	parts []namePart
}

// namePart is a literal (kind 0), a time layout (1) or the job name (2).
type namePart struct {
	kind   int
	text   string // literal text, or the Go layout
	source string // the placeholder as written, for String
}

// ParseNamePattern parses s (see NamePattern); "" gives DefaultNamePattern.
func ParseNamePattern(s string) (NamePattern, error) {
	if s == "" {
		s = DefaultNamePattern
	}
	var p NamePattern
	for rest := s; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			i = len(rest)
		}
		if i > 0 {
			lit := rest[:i]
			if j := strings.IndexFunc(lit, func(r rune) bool { return !literalRune(r) }); j >= 0 {
				return NamePattern{}, fmt.Errorf("%w: character %q at offset %d", ErrNamePattern, lit[j], len(s)-len(rest)+j)
			}
			p.parts = append(p.parts, namePart{text: lit, source: lit})
			rest = rest[i:]
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return NamePattern{}, fmt.Errorf("%w: unclosed '{' at offset %d", ErrNamePattern, len(s)-len(rest))
		}
		part, err := placeholder(rest[1:end])
		if err != nil {
			return NamePattern{}, err
		}
		part.source = rest[:end+1]
		p.parts = append(p.parts, part)
		rest = rest[end+1:]
	}
	if err := checkPath(p.Format(time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC), "job")); err != nil {
		return NamePattern{}, err
	}
	return p, nil
}

// placeholder parses the text between braces.
func placeholder(name string) (namePart, error) {
	switch name {
	case "time":
		return namePart{kind: 1, text: "20060102T1504"}, nil
	case "date":
		return namePart{kind: 1, text: "20060102"}, nil
	case "job":
		return namePart{kind: 2}, nil
	}
	layout, ok := strings.CutPrefix(name, "time:")
	if !ok {
		return namePart{}, fmt.Errorf("%w: unknown placeholder {%s} (known: {time}, {date}, {time:LAYOUT}, {job})", ErrNamePattern, name)
	}
	goLayout, err := timeLayout(layout)
	if err != nil {
		return namePart{}, err
	}
	return namePart{kind: 1, text: goLayout}, nil
}

// timeTokens maps the layout tokens to Go layout elements, longest first.
var timeTokens = []struct{ tok, layout string }{
	{"yyyy", "2006"}, {"yy", "06"}, {"MM", "01"}, {"dd", "02"}, {"HH", "15"}, {"mm", "04"}, {"ss", "05"},
}

// timeLayout converts a {time:LAYOUT} layout to a Go layout.
func timeLayout(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: empty time layout", ErrNamePattern)
	}
	var b strings.Builder
next:
	for s != "" {
		for _, t := range timeTokens {
			if strings.HasPrefix(s, t.tok) {
				b.WriteString(t.layout)
				s = s[len(t.tok):]
				continue next
			}
		}
		switch s[0] {
		case '-', '_', '.', 'T':
			b.WriteByte(s[0])
			s = s[1:]
		default:
			return "", fmt.Errorf("%w: time layout character %q (use yyyy yy MM dd HH mm ss and - _ . T)", ErrNamePattern, s[0])
		}
	}
	return b.String(), nil
}

// literalRune reports whether r may appear outside placeholders.
func literalRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_' || r == '.' || r == '/'
}

// checkPath refuses names a Remote would misread: absolute, empty parts,
// "." or "..", or a name ending in '/'.
func checkPath(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrNamePattern)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("%w: empty, \".\" or \"..\" folder in %q", ErrNamePattern, name)
		}
	}
	return nil
}

// Format returns the file name for an export at t (formatted in t's
// location; pass t.In(zone)) by job.
func (p NamePattern) Format(t time.Time, job string) string {
	var b strings.Builder
	for _, part := range p.parts {
		switch part.kind {
		case 0:
			b.WriteString(part.text)
		case 1:
			b.WriteString(t.Format(part.text))
		case 2:
			b.WriteString(job)
		}
	}
	return b.String()
}

// String returns the pattern as written.
func (p NamePattern) String() string {
	var b strings.Builder
	for _, part := range p.parts {
		b.WriteString(part.source)
	}
	return b.String()
}
