package hl7v2

import (
	"strings"
)

// NewMessage starts a message with the given delimiters and character
// set (0 means UTF8): a lone MSH segment holding MSH-1 and MSH-2. Fill it
// with Set and AddSegment, then Encode.
func NewMessage(d Delimiters, cs Charset) (*Message, error) {
	if !d.valid() {
		return nil, errAt(1, Path{Segment: "MSH"}, ErrDelimiters, "delimiters must be distinct printable ASCII characters other than letters, digits and space")
	}
	if cs == 0 {
		cs = UTF8
	}
	m := &Message{Delimiters: d, Charset: cs}
	m.segments = []*Segment{{Name: "MSH", Index: 0, Occurrence: 1,
		fields: []string{"MSH", string(d.Field), d.EncodingCharacters()}}}
	if cs != UTF8 {
		if err := m.Set(Path{Segment: "MSH", Field: 18}, cs.String()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AddSegment appends an empty segment (e.g. "MSA", "ZPI") and returns it.
// Header and trailer segments (MSH, FHS, BHS, BTS, FTS) cannot be added.
func (m *Message) AddSegment(name string) (*Segment, error) {
	if !validName(name) {
		return nil, errAt(len(m.segments)+1, Path{}, ErrSyntax, "segment name must be three upper-case letters or digits starting with a letter")
	}
	if isHeader(name) || name == "BTS" || name == "FTS" {
		return nil, errAt(len(m.segments)+1, Path{Segment: name}, ErrSyntax, "segment not allowed inside a message")
	}
	occ := 1
	for _, s := range m.segments {
		if s.Name == name {
			occ++
		}
	}
	s := &Segment{Name: name, Index: len(m.segments), Occurrence: occ, fields: []string{name}}
	m.segments = append(m.segments, s)
	return s, nil
}

// Set writes value (escaped) at p, adding empty fields, repetitions,
// components and subcomponents as needed; as on reading, an omitted
// repetition, component or subcomponent means the first. The segment
// must exist; MSH-1 and MSH-2 are fixed by the delimiters.
func (m *Message) Set(p Path, value string) error {
	if !p.valid() {
		return errAt(0, p, ErrPath, "invalid path")
	}
	s := m.Segment(p.Segment, p.Occurrence)
	if s == nil {
		return errAt(0, p, ErrNoSegment, "segment not in the message")
	}
	if isHeader(s.Name) && p.Field <= 2 {
		return errAt(s.Index+1, p, ErrDelimiters, "fields 1 and 2 are the delimiters and cannot be set")
	}
	d := m.Delimiters
	for len(s.fields) <= p.Field {
		s.fields = append(s.fields, "")
	}
	reps := splitTo(s.fields[p.Field], d.Repetition, first(p.Repetition))
	comps := splitTo(reps[first(p.Repetition)-1], d.Component, first(p.Component))
	subs := splitTo(comps[first(p.Component)-1], d.Subcomponent, first(p.Sub))
	subs[first(p.Sub)-1] = Escape(value, d)
	comps[first(p.Component)-1] = strings.Join(subs, string(d.Subcomponent))
	reps[first(p.Repetition)-1] = strings.Join(comps, string(d.Component))
	s.fields[p.Field] = strings.Join(reps, string(d.Repetition))
	return nil
}

// splitTo splits s on sep and pads with "" to at least n pieces.
func splitTo(s string, sep byte, n int) []string {
	parts := strings.Split(s, string(sep))
	for len(parts) < n {
		parts = append(parts, "")
	}
	return parts
}

// Encode writes the message in ER7: segments ended by CR, in the
// message's character set. Values were escaped when set (or kept as
// read), so parsing the result gives the same message.
func (m *Message) Encode() ([]byte, error) {
	var line strings.Builder
	var out []byte
	for _, s := range m.segments {
		line.Reset()
		writeSegment(&line, s, m.Delimiters.Field)
		text := line.String()
		var bad int
		out, bad = m.Charset.encode(out, text)
		if bad >= 0 {
			return nil, errAt(s.Index+1, locate([]byte(text), bad, s.Name, m.Delimiters), ErrCharset, "character not representable in the MSH-18 character set")
		}
		out = append(out, '\r')
	}
	return out, nil
}

func writeSegment(b *strings.Builder, s *Segment, fs byte) {
	b.WriteString(s.Name)
	start := 1
	if isHeader(s.Name) {
		// "MSH" + MSH-1 (the separator) + MSH-2, then "|MSH-3"...
		b.WriteString(s.fields[1])
		if len(s.fields) > 2 {
			b.WriteString(s.fields[2])
		}
		start = 3
	}
	for i := start; i < len(s.fields); i++ {
		b.WriteByte(fs)
		b.WriteString(s.fields[i])
	}
}
