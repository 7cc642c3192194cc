package csvsafe

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{`=HYPERLINK("http://evil","click")`, `'=HYPERLINK("http://evil","click")`},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-1+2", "'-1+2"},
		{"@SUM(1)", "'@SUM(1)"},
		{"\tleading tab", "'\tleading tab"},
		{"\rleading cr", "'\rleading cr"},
		{"-12.5", "-12.5"},
		{"+34", "+34"},
		{"-3,75", "-3,75"},
		{"+34 600 000 000", "'+34 600 000 000"},
		{"-", "'-"},
		{"-1.", "'-1."},
		{"plain", "plain"},
		{"", ""},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
