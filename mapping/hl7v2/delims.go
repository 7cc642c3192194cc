package hl7v2

// Delimiters are the separators of a message, read from MSH-1 (the field
// separator) and MSH-2 (the encoding characters, in the order component,
// repetition, escape, subcomponent and, from v2.7, truncation).
type Delimiters struct {
	Field, Component, Repetition, Escape, Subcomponent byte
	Truncation                                         byte // 0 when MSH-2 has four characters
}

// DefaultDelimiters is the usual set "|^~\&".
var DefaultDelimiters = Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}

// EncodingCharacters returns MSH-2 as written: "^~\&" (or "^~\&#").
func (d Delimiters) EncodingCharacters() string {
	b := []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		b = append(b, d.Truncation)
	}
	return string(b)
}

// delimitersFrom reads the field separator and the MSH-2 characters.
func delimitersFrom(fs byte, enc []byte) (Delimiters, bool) {
	if len(enc) != 4 && len(enc) != 5 {
		return Delimiters{}, false
	}
	d := Delimiters{Field: fs, Component: enc[0], Repetition: enc[1], Escape: enc[2], Subcomponent: enc[3]}
	if len(enc) == 5 {
		d.Truncation = enc[4]
	}
	return d, d.valid()
}

// valid: printable ASCII, not a letter, digit or space, all distinct.
func (d Delimiters) valid() bool {
	set := []byte{d.Field, d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		set = append(set, d.Truncation)
	}
	for i, c := range set {
		if c <= ' ' || c > '~' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') {
			return false
		}
		for _, o := range set[:i] {
			if o == c {
				return false
			}
		}
	}
	return true
}

// isDelim reports whether c is one of the delimiters.
func (d Delimiters) isDelim(c byte) bool {
	return c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape ||
		c == d.Subcomponent || (d.Truncation != 0 && c == d.Truncation)
}
