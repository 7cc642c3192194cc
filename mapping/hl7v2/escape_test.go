package hl7v2

import (
	"strings"
	"testing"
)

func TestUnescape(t *testing.T) {
	d := DefaultDelimiters
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\F\b`, "a|b"},
		{`a\S\b`, "a^b"},
		{`a\T\b`, "a&b"},
		{`a\R\b`, "a~b"},
		{`a\E\b`, `a\b`},
		{`\E\\E\`, `\\`},
		{`line1\.br\line2`, "line1\nline2"},
		{`a\.sp\b`, "a\nb"},
		{`a\.sp 3\b`, "a\n\n\nb"},
		{`a\.sp3\b`, "a\n\n\nb"},
		{`\H\bold\N\ text`, "bold text"},
		{`a\.fi\\.nf\\.ce\b`, "ab"},
		{`a\.in+4\\.ti-2\\.sk 3\b`, "ab"},
		{`\X41\`, "A"},
		{`\X0D0A\`, "\r\n"},
		{`caf\XC3A9\`, "café"},
		{`caf\Xc3a9\`, "café"},
	}
	for _, tt := range tests {
		got, reason := unescape(tt.in, d, UTF8)
		if reason != "" || got != tt.want {
			t.Errorf("unescape(%q) = %q, %q; want %q", tt.in, got, reason, tt.want)
		}
	}
	if got, _ := unescape(`caf\XE9\`, d, Latin1); got != "café" {
		t.Errorf("latin1 hex escape = %q", got)
	}
	// A custom escape character.
	cd := Delimiters{Field: '#', Component: '!', Repetition: '~', Escape: '%', Subcomponent: '&'}
	if got, _ := unescape(`a%F%b%S%c%E%`, cd, UTF8); got != "a#b!c%" {
		t.Errorf("custom escape = %q", got)
	}
}

func TestUnescapeErrors(t *testing.T) {
	d := DefaultDelimiters
	tests := []struct{ in, reason string }{
		{`a\F`, "unterminated escape sequence"},
		{`a\\b`, "empty escape sequence"},
		{`\P\`, "escape sequence \\P\\ without a truncation character in MSH-2"},
		{`\X4\`, "\\X..\\ escape needs an even, non-zero number of hex digits"},
		{`\X\`, "\\X..\\ escape needs an even, non-zero number of hex digits"},
		{`\XZZ\`, "\\X..\\ escape with a non-hex digit"},
		{`\XFF\`, "\\X..\\ escape gives bytes not valid in the MSH-18 character set"},
		{`\C2842\`, "unsupported escape sequence"},
		{`\M2442\`, "unsupported escape sequence"},
		{`\Zlocal\`, "unsupported escape sequence"},
		{`\Q\`, "unsupported escape sequence"},
		{`\.sp x\`, "bad \\.sp\\ escape sequence"},
		{`\.sp 100\`, "bad \\.sp\\ escape sequence"},
		{`\.in+\`, "bad formatting escape sequence"},
		{`\.sk -1\`, "bad formatting escape sequence"},
	}
	for _, tt := range tests {
		got, reason := unescape(tt.in, d, UTF8)
		if reason != tt.reason || got != "" {
			t.Errorf("unescape(%q) = %q, %q; want reason %q", tt.in, got, reason, tt.reason)
		}
	}
	if _, reason := unescape(`\X80\`, d, ASCII); reason == "" {
		t.Error("\\X80\\ accepted under ASCII")
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	sets := []Delimiters{DefaultDelimiters,
		{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&', Truncation: '#'},
		{Field: '*', Component: ':', Repetition: '@', Escape: '%', Subcomponent: '$'}}
	values := []string{"", "plain", `|^~\&#`, "a|b^c~d\\e&f#g", "multi\nline\r\nvalue", `\F\ literal`, "café ü", `*:@%$`, `%`}
	for _, d := range sets {
		for _, v := range values {
			e := Escape(v, d)
			for i := 0; i < len(e); i++ {
				if c := e[i]; c == d.Field || c == d.Component || c == d.Repetition || c == d.Subcomponent || c == '\r' || c == '\n' || (d.Truncation != 0 && c == d.Truncation) {
					t.Errorf("Escape(%q) = %q keeps delimiter %q", v, e, c)
				}
			}
			got, reason := unescape(e, d, UTF8)
			if reason != "" || got != v {
				t.Errorf("%s: unescape(Escape(%q)) = %q, %q", d.EncodingCharacters(), v, got, reason)
			}
		}
	}
	if got := Escape("no delimiters", DefaultDelimiters); got != "no delimiters" {
		t.Errorf("Escape changed a plain value: %q", got)
	}
	if got := Escape("a|b", DefaultDelimiters); got != `a\F\b` {
		t.Errorf("Escape(a|b) = %q", got)
	}
	if got := Escape("x\ny", DefaultDelimiters); !strings.Contains(got, `\X0A\`) {
		t.Errorf("Escape(LF) = %q", got)
	}
}
