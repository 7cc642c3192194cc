package hl7v2

import (
	"strings"
)

// maxSpace bounds the line breaks one \.sp n\ may produce.
const maxSpace = 99

// Escape returns v with every delimiter replaced by its escape sequence
// (\F\ \S\ \T\ \R\ \E\, \P\ for the v2.7 truncation character) and CR/LF
// written as \X0D\ / \X0A\, so that the result can be placed in a
// component or subcomponent and reads back as v.
func Escape(v string, d Delimiters) string {
	need := false
	for i := 0; i < len(v); i++ {
		if c := v[i]; d.isDelim(c) || c == '\r' || c == '\n' {
			need = true
			break
		}
	}
	if !need {
		return v
	}
	var b strings.Builder
	b.Grow(len(v) + 8)
	e := d.Escape
	for i := 0; i < len(v); i++ {
		c := v[i]
		var code string
		switch {
		case c == d.Field:
			code = "F"
		case c == d.Component:
			code = "S"
		case c == d.Subcomponent:
			code = "T"
		case c == d.Repetition:
			code = "R"
		case c == d.Escape:
			code = "E"
		case d.Truncation != 0 && c == d.Truncation:
			code = "P"
		case c == '\r':
			code = "X0D"
		case c == '\n':
			code = "X0A"
		default:
			b.WriteByte(c)
			continue
		}
		b.WriteByte(e)
		b.WriteString(code)
		b.WriteByte(e)
	}
	return b.String()
}

// unescape decodes the escape sequences of one subcomponent value. It
// returns the reason of a failure (never the value) as a string.
//
// \F\ \S\ \T\ \R\ \E\ (\P\) give the delimiters; \Xhh..\ gives the bytes
// hh.. read in the message's character set; \.br\ and \.sp [n]\ give line
// breaks; \H\ \N\ (highlighting) and the other formatting commands
// (\.fi\ \.nf\ \.ce\ \.in n\ \.ti n\ \.sk n\) have no plain-text rendering
// and are dropped. Character-set switches (\C..\ \M..\) and locally
// defined \Z..\ sequences are not supported and are errors.
func unescape(v string, d Delimiters, cs Charset) (string, string) {
	e := d.Escape
	if strings.IndexByte(v, e) < 0 {
		return v, ""
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); {
		c := v[i]
		if c != e {
			b.WriteByte(c)
			i++
			continue
		}
		j := strings.IndexByte(v[i+1:], e)
		if j < 0 {
			return "", "unterminated escape sequence"
		}
		seq := v[i+1 : i+1+j]
		i += j + 2
		if reason := writeEscape(&b, seq, d, cs); reason != "" {
			return "", reason
		}
	}
	return b.String(), ""
}

func writeEscape(b *strings.Builder, seq string, d Delimiters, cs Charset) string {
	switch seq {
	case "":
		return "empty escape sequence"
	case "F":
		b.WriteByte(d.Field)
	case "S":
		b.WriteByte(d.Component)
	case "T":
		b.WriteByte(d.Subcomponent)
	case "R":
		b.WriteByte(d.Repetition)
	case "E":
		b.WriteByte(d.Escape)
	case "P":
		if d.Truncation == 0 {
			return "escape sequence \\P\\ without a truncation character in MSH-2"
		}
		b.WriteByte(d.Truncation)
	case "H", "N", ".fi", ".nf", ".ce":
	case ".br":
		b.WriteByte('\n')
	default:
		switch {
		case seq[0] == 'X':
			return writeHex(b, seq[1:], cs)
		case strings.HasPrefix(seq, ".sp"):
			n, ok := smallNumber(strings.TrimPrefix(seq[3:], " "), false)
			if !ok || n > maxSpace {
				return "bad \\.sp\\ escape sequence"
			}
			b.WriteString(strings.Repeat("\n", max(n, 1)))
		case strings.HasPrefix(seq, ".in"), strings.HasPrefix(seq, ".ti"), strings.HasPrefix(seq, ".sk"):
			if _, ok := smallNumber(strings.TrimPrefix(seq[3:], " "), seq[1] != 's'); !ok {
				return "bad formatting escape sequence"
			}
		default:
			return "unsupported escape sequence"
		}
	}
	return ""
}

// smallNumber reads an optional (signed, if allowed) number of up to 3
// digits; "" is 0.
func smallNumber(s string, signed bool) (int, bool) {
	if signed && s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
		if s == "" {
			return 0, false
		}
	}
	if len(s) > 3 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func writeHex(b *strings.Builder, h string, cs Charset) string {
	if len(h) == 0 || len(h)%2 != 0 {
		return "\\X..\\ escape needs an even, non-zero number of hex digits"
	}
	raw := make([]byte, len(h)/2)
	for k := range raw {
		hi, ok1 := hexVal(h[2*k])
		lo, ok2 := hexVal(h[2*k+1])
		if !ok1 || !ok2 {
			return "\\X..\\ escape with a non-hex digit"
		}
		raw[k] = hi<<4 | lo
	}
	s, bad := cs.decode(raw)
	if bad >= 0 {
		return "\\X..\\ escape gives bytes not valid in the MSH-18 character set"
	}
	b.WriteString(s)
	return ""
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
