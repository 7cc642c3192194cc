package hl7v2

import (
	"strings"
	"unicode/utf8"
)

// Charset is a character set of MSH-18 (HL7 table 0211) that this
// package reads and writes.
type Charset int

// The supported character sets.
const (
	// UTF8 is MSH-18 "UNICODE UTF-8".
	UTF8 Charset = iota + 1
	// Latin1 is MSH-18 "8859/1" (ISO 8859-1).
	Latin1
	// ASCII is MSH-18 "ASCII", the standard's default: 7-bit only.
	ASCII
)

// String returns the MSH-18 code of the character set.
func (c Charset) String() string {
	switch c {
	case UTF8:
		return "UNICODE UTF-8"
	case Latin1:
		return "8859/1"
	case ASCII:
		return "ASCII"
	}
	return "unknown"
}

// charsetOf maps an MSH-18 code to a Charset; ok is false for codes this
// package does not support.
func charsetOf(code string) (Charset, bool) {
	switch strings.TrimSpace(code) {
	case "UNICODE UTF-8":
		return UTF8, true
	case "8859/1":
		return Latin1, true
	case "ASCII":
		return ASCII, true
	}
	return 0, false
}

// decode turns bytes of the character set into a UTF-8 string. bad is
// the offset of the first byte not valid in the set, or -1.
func (c Charset) decode(b []byte) (s string, bad int) {
	switch c {
	case Latin1:
		ascii := true
		for _, x := range b {
			if x >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			return string(b), -1
		}
		r := make([]rune, len(b))
		for i, x := range b {
			r[i] = rune(x)
		}
		return string(r), -1
	case ASCII:
		for i, x := range b {
			if x >= 0x80 {
				return "", i
			}
		}
		return string(b), -1
	default:
		if utf8.Valid(b) {
			return string(b), -1
		}
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", i
			}
			i += n
		}
		return "", 0 // unreachable: utf8.Valid was false
	}
}

// encode writes a UTF-8 string in the character set. bad is the offset
// (in s) of the first rune the set cannot hold, or -1.
func (c Charset) encode(dst []byte, s string) ([]byte, int) {
	switch c {
	case Latin1, ASCII:
		limit := rune(0xFF)
		if c == ASCII {
			limit = 0x7F
		}
		for i, r := range s {
			if r > limit || (r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) {
				return dst, i
			}
			dst = append(dst, byte(r))
		}
		return dst, -1
	default:
		if !utf8.ValidString(s) {
			for i, r := range s {
				if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
					return dst, i
				}
			}
		}
		return append(dst, s...), -1
	}
}
