package hl7v2

import (
	"errors"
	"strings"
	"testing"
)

// canary is a value that must never appear in an error text.
const canary = "CANARYZQX"

func TestErrorLocationsNoValues(t *testing.T) {
	msh := `MSH|^~\&|` + canary + `||||||ADT^A04|1|P|2.5.1`
	tests := []struct {
		name string
		in   string
		path string // "" means the error is at Parse
		want string
		kind error
	}{
		{"escape in name", seg(msh, `PID|1||ID||`+canary+`^`+canary+`\Q\`), "PID-5[1].2",
			"hl7v2: PID-5[1].2: unsupported escape sequence", ErrEscape},
		{"unterminated in repetition", seg(msh, `PID|1||ID~`+canary+`\F`), "PID-3[2].1",
			"hl7v2: PID-3[2].1: unterminated escape sequence", ErrEscape},
		{"omitted parts resolved", seg(msh, `PID|1||`+canary+`\X4\`), "PID-3",
			"hl7v2: PID-3[1].1: \\X..\\ escape needs an even, non-zero number of hex digits", ErrEscape},
		{"subcomponent", seg(msh, `PID|1||ID^^^A&`+canary+`\XG1\`), "PID-3.4.2",
			"hl7v2: PID-3[1].4.2: \\X..\\ escape with a non-hex digit", ErrEscape},
		{"second OBX", seg(msh, `OBX|1|ST|||ok`, `OBX|2|ST|||`+canary+`\`), "OBX[2]-5",
			"hl7v2: OBX[2]-5[1].1: unterminated escape sequence", ErrEscape},
		{"Z-segment", seg(msh, `ZPI|`+canary+`\C2842\`), "ZPI-1",
			"hl7v2: ZPI-1[1].1: unsupported escape sequence", ErrEscape},
		{"charset", seg(msh + `||||||` + canary), "",
			"hl7v2: MSH-18: unsupported character set (supported: UNICODE UTF-8, 8859/1, ASCII)", ErrCharset},
		{"bad byte", seg(msh, `PID|1||ID||`+canary+"^\xff"+canary), "",
			"hl7v2: PID-5[1].2: bytes not valid in the MSH-18 character set", ErrCharset},
		{"bad segment name", seg(msh, canary+`|x`), "",
			"hl7v2: segment 2: segment name not followed by the field separator", ErrSyntax},
		{"lower-case name", seg(msh, `pid|`+canary), "",
			"hl7v2: segment 2: segment name must be three upper-case letters or digits starting with a letter", ErrSyntax},
		{"bad delimiters", seg(`MSH|` + canary + `|x`), "",
			"hl7v2: MSH-2: encoding characters must be 4 (or, from v2.7, 5) characters", ErrDelimiters},
		{"repeated delimiter", seg(`MSH|^^\&|` + canary), "",
			"hl7v2: MSH: delimiters in fields 1 and 2 must be distinct printable ASCII characters other than letters, digits and space", ErrDelimiters},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.in))
		if tt.path != "" {
			if err != nil {
				t.Errorf("%s: Parse: %v", tt.name, err)
				continue
			}
			_, err = m.Get(tt.path)
		}
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if err.Error() != tt.want || !errors.Is(err, tt.kind) {
			t.Errorf("%s: got %q, want %q (%v)", tt.name, err, tt.want, tt.kind)
		}
		if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "CANARY") {
			t.Errorf("%s: error leaks a value: %q", tt.name, err)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: not an *Error", tt.name)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Message: 3, Segment: 4, Loc: Path{Segment: "PID", Field: 5, Repetition: 1, Component: 1}, Reason: "r"}, "hl7v2: message 3: PID-5[1].1: r"},
		{Error{Segment: 7, Reason: "r"}, "hl7v2: segment 7: r"},
		{Error{Message: 2, Reason: "r"}, "hl7v2: message 2: r"},
		{Error{Loc: Path{Segment: "OBX", Occurrence: 2, Field: 5, Repetition: 2, Component: 3, Sub: 1}, Reason: "r"}, "hl7v2: OBX[2]-5[2].3.1: r"},
		{Error{Loc: Path{Segment: "BTS"}, Reason: "r"}, "hl7v2: BTS: r"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}
