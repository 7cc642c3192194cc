package hl7v2

import (
	"bytes"
	"strings"
)

// Limits bound what one message may hold. A zero field takes its default.
type Limits struct {
	MaxMessageBytes int // bytes of one message (default 4 MiB)
	MaxSegments     int // segments of one message (default 5000)
	MaxFields       int // fields of one segment (default 500)
}

// The default limits.
const (
	DefaultMaxMessageBytes = 4 << 20
	DefaultMaxSegments     = 5000
	DefaultMaxFields       = 500
)

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxSegments <= 0 {
		l.MaxSegments = DefaultMaxSegments
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// Options configure reading. The zero value is the defaults.
type Options struct {
	Limits
	// DefaultCharset reads messages whose MSH-18 is empty. The standard
	// says ASCII; the default here is UTF8, which accepts ASCII too.
	DefaultCharset Charset
}

func (o Options) withDefaults() Options {
	o.Limits = o.Limits.withDefaults()
	if o.DefaultCharset == 0 {
		o.DefaultCharset = UTF8
	}
	return o
}

// Message is one parsed HL7 v2 message: its delimiters, its character
// set and its segments in order. Field values are kept as written
// (escaped, decoded to UTF-8) and unescaped when read.
type Message struct {
	Delimiters Delimiters
	Charset    Charset
	segments   []*Segment
}

// Segment is one segment of a message.
type Segment struct {
	Name       string // e.g. "PID", "ZPI"
	Index      int    // 0-based position in the message
	Occurrence int    // 1-based rank among the message's segments of this Name
	// fields[0] is the name; fields[n] is field n as written. For MSH,
	// FHS and BHS, fields[1] is the field separator and fields[2] the
	// encoding characters, as the standard numbers them.
	fields []string
}

// NumFields returns the number of the segment's last field present.
func (s *Segment) NumFields() int { return len(s.fields) - 1 }

// Raw returns field n exactly as written (still escaped), "" if absent.
func (s *Segment) Raw(n int) string {
	if n < 1 || n >= len(s.fields) {
		return ""
	}
	return s.fields[n]
}

// isHeader: segments that carry their own delimiters in fields 1 and 2.
func isHeader(name string) bool { return name == "MSH" || name == "FHS" || name == "BHS" }

// Parse parses one message with the default options.
func Parse(data []byte) (*Message, error) { return Options{}.Parse(data) }

// Parse parses one message. Segments end with CR; LF and CRLF are
// tolerated, empty lines skipped. A batch file (or several messages)
// must be read with a Reader.
func (o Options) Parse(data []byte) (*Message, error) {
	o = o.withDefaults()
	if len(data) > o.MaxMessageBytes {
		return nil, errAt(0, Path{}, ErrLimit, "message larger than the size limit")
	}
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexAny(data, "\r\n")
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		if len(line) == 0 {
			continue
		}
		if len(lines) == o.MaxSegments {
			return nil, errAt(len(lines)+1, Path{}, ErrLimit, "more segments than the limit")
		}
		lines = append(lines, line)
	}
	return parseLines(lines, o)
}

// parseLines builds a message from its non-empty segment lines.
func parseLines(lines [][]byte, o Options) (*Message, error) {
	if len(lines) == 0 {
		return nil, errAt(0, Path{}, ErrSyntax, "empty message")
	}
	if !bytes.HasPrefix(lines[0], []byte("MSH")) {
		return nil, errAt(1, Path{}, ErrSyntax, "message does not start with MSH")
	}
	d, err := headerDelimiters(lines[0], "MSH")
	if err != nil {
		return nil, err
	}
	cs := o.DefaultCharset
	if code := rawComponent(lines[0], d, 18); code != "" {
		c, ok := charsetOf(code)
		if !ok {
			return nil, errAt(1, Path{Segment: "MSH", Field: 18}, ErrCharset, "unsupported character set (supported: UNICODE UTF-8, 8859/1, ASCII)")
		}
		cs = c
	}
	m := &Message{Delimiters: d, Charset: cs, segments: make([]*Segment, 0, len(lines))}
	count := map[string]int{}
	for i, line := range lines {
		if i > 0 && len(line) >= 3 {
			if name := string(line[:3]); isHeader(name) || name == "BTS" || name == "FTS" {
				return nil, errAt(i+1, Path{Segment: name}, ErrSyntax, "segment not allowed inside a message (read batches and several messages with a Reader)")
			}
		}
		s, err := parseSegment(line, i, d, cs, o.MaxFields)
		if err != nil {
			return nil, err
		}
		count[s.Name]++
		s.Occurrence = count[s.Name]
		m.segments = append(m.segments, s)
	}
	return m, nil
}

// headerDelimiters reads the delimiters of an MSH/FHS/BHS line.
func headerDelimiters(line []byte, name string) (Delimiters, error) {
	loc := Path{Segment: name, Field: 1}
	if len(line) < 4 {
		return Delimiters{}, errAt(1, loc, ErrDelimiters, "field separator missing")
	}
	fs := line[3]
	rest := line[4:]
	enc := rest
	if i := bytes.IndexByte(rest, fs); i >= 0 {
		enc = rest[:i]
	}
	d, ok := delimitersFrom(fs, enc)
	if !ok {
		loc.Field = 2
		if len(enc) == 4 || len(enc) == 5 {
			// the set itself is bad; say which rule in general terms
			return Delimiters{}, errAt(1, Path{Segment: name}, ErrDelimiters, "delimiters in fields 1 and 2 must be distinct printable ASCII characters other than letters, digits and space")
		}
		return Delimiters{}, errAt(1, loc, ErrDelimiters, "encoding characters must be 4 (or, from v2.7, 5) characters")
	}
	return d, nil
}

// rawComponent returns the first component of the first repetition of
// field n of a header line, as ASCII text ("" if absent or not ASCII).
func rawComponent(line []byte, d Delimiters, n int) string {
	// fields of a header line: name, fs, enc, 3, 4, ...; split after "MSH|".
	parts := bytes.SplitN(line[4:], []byte{d.Field}, n) // parts[0]=MSH-2, parts[k]=MSH-(k+2)
	if len(parts) < n-1 {
		return ""
	}
	f := parts[n-2]
	if i := bytes.IndexByte(f, d.Field); i >= 0 {
		f = f[:i]
	}
	if i := bytes.IndexByte(f, d.Repetition); i >= 0 {
		f = f[:i]
	}
	if i := bytes.IndexByte(f, d.Component); i >= 0 {
		f = f[:i]
	}
	for _, c := range f {
		if c >= 0x80 {
			return "?"
		}
	}
	return string(f)
}

// parseSegment splits one segment line. index is its 0-based position.
func parseSegment(line []byte, index int, d Delimiters, cs Charset, maxFields int) (*Segment, error) {
	pos := index + 1
	if len(line) < 3 || !validName(string(line[:3])) {
		return nil, errAt(pos, Path{}, ErrSyntax, "segment name must be three upper-case letters or digits starting with a letter")
	}
	name := string(line[:3])
	if len(line) > 3 && line[3] != d.Field {
		return nil, errAt(pos, Path{}, ErrSyntax, "segment name not followed by the field separator")
	}
	if n := bytes.Count(line, []byte{d.Field}); n > maxFields {
		return nil, errAt(pos, Path{Segment: name}, ErrLimit, "more fields than the limit")
	}
	text, bad := cs.decode(line)
	if bad >= 0 {
		return nil, errAt(pos, locate(line, bad, name, d), ErrCharset, "bytes not valid in the MSH-18 character set")
	}
	s := &Segment{Name: name, Index: index}
	if isHeader(name) {
		// the caller has read the delimiters from this very line
		if len(text) < 4 {
			return nil, errAt(pos, Path{Segment: name, Field: 1}, ErrDelimiters, "field separator missing")
		}
		rest := strings.Split(text[4:], string(d.Field))
		s.fields = make([]string, 0, len(rest)+2)
		s.fields = append(s.fields, name, string(d.Field))
		s.fields = append(s.fields, rest...)
		return s, nil
	}
	s.fields = strings.Split(text, string(d.Field))
	s.fields[0] = name
	return s, nil
}

// locate turns a byte offset in a raw segment line into a location
// (field, repetition, component; subcomponent if inside one).
func locate(line []byte, off int, name string, d Delimiters) Path {
	p := Path{Segment: name, Field: 0, Repetition: 1, Component: 1}
	start := 0
	if isHeader(name) {
		if off < 4 {
			return Path{Segment: name, Field: 1}
		}
		p.Field, start = 2, 4
	}
	sub := 1
	for i := start; i < off && i < len(line); i++ {
		switch line[i] {
		case d.Field:
			p.Field++
			p.Repetition, p.Component, sub = 1, 1, 1
		case d.Repetition:
			p.Repetition++
			p.Component, sub = 1, 1
		case d.Component:
			p.Component++
			sub = 1
		case d.Subcomponent:
			sub++
		}
	}
	if sub > 1 {
		p.Sub = sub
	}
	return p
}

// Segments returns the segments in order. The slice must not be changed.
func (m *Message) Segments() []*Segment { return m.segments }

// Segment returns the occ-th (1-based; 0 means first) segment named name,
// or nil.
func (m *Message) Segment(name string, occ int) *Segment {
	occ = first(occ)
	for _, s := range m.segments {
		if s.Name == name && s.Occurrence == occ {
			return s
		}
	}
	return nil
}

// All returns every segment named name, in order.
func (m *Message) All(name string) []*Segment {
	var out []*Segment
	for _, s := range m.segments {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Type returns MSH-9.1 and MSH-9.2, e.g. "ADT", "A04".
func (m *Message) Type() (code, event string) {
	code, _, _ = m.Lookup(Path{Segment: "MSH", Field: 9, Component: 1})
	event, _, _ = m.Lookup(Path{Segment: "MSH", Field: 9, Component: 2})
	return code, event
}

// Version returns MSH-12.1, the HL7 version of the message (e.g.
// "2.5.1"). The reader does not depend on it: v2.3 to v2.8 share ER7.
func (m *Message) Version() string {
	v, _, _ := m.Lookup(Path{Segment: "MSH", Field: 12, Component: 1})
	return v
}

// Get returns the unescaped value at a path such as "PID-5[1].1"; "" if
// the segment or the value is absent. An HL7 explicit null reads as the
// two characters `""`.
func (m *Message) Get(path string) (string, error) {
	p, err := ParsePath(path)
	if err != nil {
		return "", err
	}
	v, _, err := m.Lookup(p)
	return v, err
}

// Lookup returns the unescaped value at p and whether it is present
// (present but empty is ok with "").
func (m *Message) Lookup(p Path) (string, bool, error) {
	s := m.Segment(p.Segment, p.Occurrence)
	if s == nil {
		return "", false, nil
	}
	return s.lookup(p, m.Delimiters, m.Charset)
}

// Value returns the unescaped value of this segment at p, whose Segment
// and Occurrence are ignored (only field and below are used).
func (m *Message) Value(s *Segment, p Path) (string, bool, error) {
	return s.lookup(p, m.Delimiters, m.Charset)
}

// Repetitions returns how many repetitions field n of the segment has
// (0 when absent or empty).
func (m *Message) Repetitions(s *Segment, n int) int {
	raw := s.Raw(n)
	if raw == "" {
		return 0
	}
	if isHeader(s.Name) && n <= 2 {
		return 1
	}
	return strings.Count(raw, string(m.Delimiters.Repetition)) + 1
}

func (s *Segment) lookup(p Path, d Delimiters, cs Charset) (string, bool, error) {
	if p.Field < 1 || p.Field >= len(s.fields) {
		return "", false, nil
	}
	raw := s.fields[p.Field]
	if isHeader(s.Name) && p.Field <= 2 {
		// MSH-1 is the separator itself, MSH-2 the encoding characters:
		// neither is split nor unescaped.
		if p.Repetition > 1 || p.Component > 1 || p.Sub > 1 {
			return "", false, nil
		}
		return raw, true, nil
	}
	rep, ok := nth(raw, d.Repetition, first(p.Repetition))
	if !ok {
		return "", false, nil
	}
	comp, ok := nth(rep, d.Component, first(p.Component))
	if !ok {
		return "", false, nil
	}
	sub, ok := nth(comp, d.Subcomponent, first(p.Sub))
	if !ok {
		return "", false, nil
	}
	v, reason := unescape(sub, d, cs)
	if reason != "" {
		loc := Path{Segment: s.Name, Field: p.Field, Repetition: first(p.Repetition), Component: first(p.Component), Sub: p.Sub}
		if s.Occurrence > 1 {
			loc.Occurrence = s.Occurrence
		}
		return "", false, errAt(s.Index+1, loc, ErrEscape, reason)
	}
	return v, true, nil
}

// nth returns the n-th (1-based) piece of s split on sep.
func nth(s string, sep byte, n int) (string, bool) {
	for k := 1; k < n; k++ {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return "", false
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, sep); i >= 0 {
		s = s[:i]
	}
	return s, true
}
