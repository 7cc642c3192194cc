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
