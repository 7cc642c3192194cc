package fhirpath

import "strings"

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

// searchValueOf returns s written as one value of a FHIR search parameter
// in a URL query (the project function searchValue()): FHIR's search
// escapes (\ | , $ each preceded by a backslash), and percent-encoding of
// every other byte queryKeep refuses. The '|' of system|value and the ','
// between alternatives are left to the caller, so an unescaped '|' or ','
// around the result is always a separator. Decoding the query
// (url.ParseQuery, whose '+' would be a space: here a space is %20 and a
// '+' is %2B) and then FHIR's unescaping gives s back, byte for byte.
func searchValueOf(s string) string {
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

func init() {
	// searchValue(): a string as one FHIR search value in a URL query,
	// for conditional URLs such as 'Patient?identifier=' +
	// %system.searchValue() + '|' + %value.searchValue().
	strFn("searchValue", 0, func(c *ctx, s string, _ []string) (Collection, error) {
		return c.one(String(searchValueOf(s))), nil
	})
}
