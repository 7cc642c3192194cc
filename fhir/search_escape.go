package fhir

import "strings"

// SplitSearchValue splits a search parameter's value at every sep (',' or
// '|') that is not escaped by a backslash, leaving the escapes in the
// parts for UnescapeSearchValue (FHIR R4 search, "Escaping search
// parameters").
func SplitSearchValue(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // the next byte is escaped
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// UnescapeSearchValue removes FHIR's search escapes from s: \, \| \$ and
// \\ stand for the character; any other backslash is kept.
func UnescapeSearchValue(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`,|$\`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// searchEscaped are the characters FHIR search escapes with a backslash
// inside a parameter value: the backslash itself, and the separators of
// composite (|, $) and alternative (,) values.
const searchEscaped = `\|,$`

// upperHex are the digits of a percent-encoding (RFC 3986 recommends
// upper case).
const upperHex = "0123456789ABCDEF"

// queryKeep reports whether byte b may stand unencoded in the value of a
// URL query parameter: RFC 3986's unreserved characters; the query
// characters that no form decoder reads as syntax: colon, at sign, slash,
// question mark, exclamation mark, dollar, apostrophe, parentheses,
// asterisk and comma; and FHIR search's own backslash and vertical bar.
// Those two are kept as FHIR writes them (identifier=system|value, \|),
// like the bar between system and value that a mapping writes itself;
// url.ParseQuery reads them as they are. Ampersand, semicolon, equals,
// plus, hash and percent are syntax in a query (plus: a space), so they
// are encoded, as are spaces, controls, double quotes, angle brackets,
// square brackets, braces, caret, backquote and every byte of a non-ASCII
// character.
func queryKeep(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-._~:@/?!$'()*,\\|", b) >= 0
}

// QuerySearchValue returns s written as one value of a FHIR search
// parameter in a URL query (the mapping language's searchValue(), and
// connectors writing an If-None-Exist): FHIR's search
// escapes (\ | , $ each preceded by a backslash), and percent-encoding of
// every other byte queryKeep refuses. The '|' of system|value and the ','
// between alternatives are left to the caller, so an unescaped '|' or ','
// around the result is always a separator. Decoding the query
// (url.ParseQuery, whose '+' would be a space: here a space is %20 and a
// '+' is %2B) and then FHIR's unescaping gives s back, byte for byte.
func QuerySearchValue(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(searchEscaped, c) >= 0 {
			b.WriteByte('\\') // FHIR's escape
		}
		if queryKeep(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}
