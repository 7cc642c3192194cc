package hl7v2

import (
	"errors"
	"strings"
	"testing"
)

func TestEncodeRoundTrip(t *testing.T) {
	custom := translate(adtA04, Delimiters{Field: '*', Component: ':', Repetition: '@', Escape: '%', Subcomponent: '$'})
	latin := seg(`MSH|^~\&|A||||||ADT^A04|1|P|2.5||||||8859/1`, "PID|1||||M\xfcller^Zo\xeb")
	for name, in := range map[string]string{"ADT": adtA04, "SIU": siuS12, "custom": custom, "latin1": latin,
		"truncation": seg(`MSH|^~\&#|A||||||ADT^A01|1|P|2.7`, `NTE|1||50\P\`)} {
		m := mustParse(t, in)
		out, err := m.Encode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(out) != in {
			t.Errorf("%s: Encode changed the message:\n%q\n%q", name, out, in)
		}
	}
	// LF and CRLF input encode with CR.
	m := mustParse(t, strings.ReplaceAll(siuS12, "\r", "\r\n"))
	if out, _ := m.Encode(); string(out) != siuS12 {
		t.Errorf("CRLF input not written with CR")
	}
}

func TestBuildMessage(t *testing.T) {
	m, err := NewMessage(DefaultDelimiters, 0)
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct{ path, value string }{
		{"MSH-3", "FHIRBRIDGE"},
		{"MSH-9.1", "ACK"},
		{"MSH-9.2", "A04"},
		{"MSH-9.3", "ACK"},
		{"MSH-12", "2.5.1"},
	}
	for _, s := range sets {
		if err := m.Set(MustParsePath(s.path), s.value); err != nil {
			t.Fatalf("Set(%s): %v", s.path, err)
		}
	}
	if _, err := m.AddSegment("MSA"); err != nil {
		t.Fatal(err)
	}
	z, _ := m.AddSegment("ZAK")
	if z.Index != 2 || z.Occurrence != 1 {
		t.Errorf("ZAK at %d/%d", z.Index, z.Occurrence)
	}
	z2, _ := m.AddSegment("ZAK")
	if z2.Occurrence != 2 {
		t.Errorf("second ZAK occurrence %d", z2.Occurrence)
	}
	text := "rejected: a|b ^c ~d &e \\f\nnext line"
	for _, s := range []struct{ path, value string }{
		{"MSA-1", "AA"}, {"MSA-2", "MSG00001"}, {"MSA-3", text},
		{"ZAK[2]-2[2].3.2", "deep"}, {"ZAK[2]-2[1].1", "first"},
	} {
		if err := m.Set(MustParsePath(s.path), s.value); err != nil {
			t.Fatalf("Set(%s): %v", s.path, err)
		}
	}
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := seg(`MSH|^~\&|FHIRBRIDGE||||||ACK^A04^ACK|||2.5.1`,
		`MSA|AA|MSG00001|rejected: a\F\b \S\c \R\d \T\e \E\f\X0A\next line`,
		`ZAK`,
		`ZAK||first~^^&deep`)
	if string(out) != want {
		t.Errorf("Encode:\n got %q\nwant %q", out, want)
	}
	back := mustParse(t, string(out))
	for _, p := range []string{"MSA-3", "ZAK[2]-2[2].3.2", "MSH-9.2"} {
		w, _ := m.Get(p)
		if g, err := back.Get(p); err != nil || g != w {
			t.Errorf("read back %s = %q, %v; want %q", p, g, err, w)
		}
	}
	if v, _ := back.Get("MSA-3"); v != text {
		t.Errorf("MSA-3 read back %q", v)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := NewMessage(Delimiters{Field: '|', Component: '|', Repetition: '~', Escape: '\\', Subcomponent: '&'}, 0); !errors.Is(err, ErrDelimiters) {
		t.Errorf("NewMessage with duplicate delimiters: %v", err)
	}
	m, _ := NewMessage(DefaultDelimiters, ASCII)
	if v, _ := m.Get("MSH-18"); v != "ASCII" {
		t.Errorf("MSH-18 = %q", v)
	}
	tests := []struct {
		name string
		err  error
		kind error
	}{
		{"missing segment", m.Set(MustParsePath("PID-5"), canary), ErrNoSegment},
		{"MSH-1", m.Set(MustParsePath("MSH-1"), "#"), ErrDelimiters},
		{"MSH-2", m.Set(MustParsePath("MSH-2"), "^~"), ErrDelimiters},
		{"invalid path", m.Set(Path{Segment: "PID"}, canary), ErrPath},
		{"sub without component", m.Set(Path{Segment: "MSH", Field: 3, Sub: 2}, canary), ErrPath},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.kind) || strings.Contains(tt.err.Error(), canary) {
			t.Errorf("%s: %v", tt.name, tt.err)
		}
	}
	for _, name := range []string{"MSH", "BHS", "FHS", "BTS", "FTS", "pid", "P"} {
		if _, err := m.AddSegment(name); !errors.Is(err, ErrSyntax) {
			t.Errorf("AddSegment(%s): %v", name, err)
		}
	}
	// A character the MSH-18 set cannot hold is an error at encoding,
	// located and without the value.
	m.AddSegment("PID")
	m.Set(MustParsePath("PID-5[2].2"), "Zoë"+canary)
	_, err := m.Encode()
	if !errors.Is(err, ErrCharset) || err.Error() != "hl7v2: PID-5[2].2: character not representable in the MSH-18 character set" {
		t.Errorf("Encode: %v", err)
	}
	l, _ := NewMessage(DefaultDelimiters, Latin1)
	l.AddSegment("PID")
	l.Set(MustParsePath("PID-5"), "Zoë")
	out, err := l.Encode()
	if err != nil || !strings.Contains(string(out), "Zo\xeb") || !strings.Contains(string(out), "|8859/1\r") {
		t.Errorf("Latin-1 encode: %q, %v", out, err)
	}
	l.Set(MustParsePath("PID-6"), "€")
	if _, err := l.Encode(); !errors.Is(err, ErrCharset) {
		t.Errorf("euro in Latin-1: %v", err)
	}
}
