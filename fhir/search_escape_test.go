package fhir

import (
	"slices"
	"testing"
)

// TestSearchValueEscapes: commas and bars split a search value unless
// escaped, and only R4's four escapes are removed.
func TestSearchValueEscapes(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    string
		sep   byte
		split []string
		unesc string
	}{
		{"plain", "a,b", ',', []string{"a", "b"}, "a,b"},
		{"escaped comma stays", `a\,b,c`, ',', []string{`a\,b`, "c"}, "a,b,c"},
		{"bar", `urn:a|1\|2`, '|', []string{"urn:a", `1\|2`}, "urn:a|1|2"},
		{"escaped backslash", `a\\,b`, ',', []string{`a\\`, "b"}, `a\,b`},
		{"dollar", `x\$y`, ',', []string{`x\$y`}, "x$y"},
		{"other backslash kept", `a\xb`, ',', []string{`a\xb`}, `a\xb`},
		{"trailing backslash", `a\`, ',', []string{`a\`}, `a\`},
		{"empty parts", ",,", ',', []string{"", "", ""}, ",,"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SplitSearchValue(c.in, c.sep); !slices.Equal(got, c.split) {
				t.Errorf("SplitSearchValue(%q) = %q, want %q", c.in, got, c.split)
			}
			if got := UnescapeSearchValue(c.in); got != c.unesc {
				t.Errorf("UnescapeSearchValue(%q) = %q, want %q", c.in, got, c.unesc)
			}
		})
	}
}
