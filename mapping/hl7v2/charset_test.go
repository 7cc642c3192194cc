package hl7v2

import (
	"errors"
	"testing"
)

func TestCharsets(t *testing.T) {
	const head = `MSH|^~\&|A||||||ADT^A01|1|P|2.5||||||`
	tests := []struct {
		name, in string
		cs       Charset
		want     string // PID-5.1
	}{
		{"utf8", seg(head+"UNICODE UTF-8", "PID|1||||Müller^Zoë"), UTF8, "Müller"},
		{"utf8 hex", seg(head+"UNICODE UTF-8", `PID|1||||M\XC3BC\ller`), UTF8, "Müller"},
		{"latin1", seg(head+"8859/1", "PID|1||||M\xfcller^Zo\xeb"), Latin1, "Müller"},
		{"latin1 hex", seg(head+"8859/1", `PID|1||||M\XFC\ller`), Latin1, "Müller"},
		{"latin1 repeated MSH-18", seg(head+"8859/1~UNICODE UTF-8", "PID|1||||M\xfcller"), Latin1, "Müller"},
		{"ascii", seg(head+"ASCII", "PID|1||||Muller"), ASCII, "Muller"},
		{"empty is default", seg(head, "PID|1||||Müller"), UTF8, "Müller"},
	}
	for _, tt := range tests {
		m, err := Parse([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if m.Charset != tt.cs {
			t.Errorf("%s: charset %v", tt.name, m.Charset)
		}
		if v, err := m.Get("PID-5.1"); err != nil || v != tt.want {
			t.Errorf("%s: PID-5.1 = %q, %v", tt.name, v, err)
		}
	}
	m, err := Options{DefaultCharset: Latin1}.Parse([]byte(seg(head, "PID|1||||M\xfcller")))
	if err != nil || m.Charset != Latin1 {
		t.Fatalf("DefaultCharset Latin1: %v", err)
	}
	if v, _ := m.Get("PID-5"); v != "Müller" {
		t.Errorf("DefaultCharset Latin1: %q", v)
	}
}

func TestCharsetErrors(t *testing.T) {
	const head = `MSH|^~\&|A||||||ADT^A01|1|P|2.5||||||`
	tests := []struct{ name, in, want string }{
		{"latin1 byte in utf8", seg(head+"UNICODE UTF-8", "PID|1||||N1^M\xfcller"), "hl7v2: PID-5[1].2: bytes not valid in the MSH-18 character set"},
		{"high byte in ascii", seg(head+"ASCII", "PID|1||A~B^C&\xc3\xa9"), "hl7v2: PID-3[2].2.2: bytes not valid in the MSH-18 character set"},
		{"empty defaults to utf8", seg(head, "ZPI|\xff"), "hl7v2: ZPI-1[1].1: bytes not valid in the MSH-18 character set"},
		{"in MSH", seg(`MSH|^~\&|A` + "\xff"), "hl7v2: MSH-3[1].1: bytes not valid in the MSH-18 character set"},
		{"unknown", seg(head + "ISO IR87"), "hl7v2: MSH-18: unsupported character set (supported: UNICODE UTF-8, 8859/1, ASCII)"},
		{"utf16 name", seg(head + "UNICODE UTF-16"), "hl7v2: MSH-18: unsupported character set (supported: UNICODE UTF-8, 8859/1, ASCII)"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if !errors.Is(err, ErrCharset) || err.Error() != tt.want {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}
