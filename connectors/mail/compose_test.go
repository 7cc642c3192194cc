package mail

import (
	"bytes"
	"errors"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func composeFor(t testing.TB, to []string, subject, body string) []byte {
	t.Helper()
	from, err := parseAddress("FHIR bridge <bridge@clinic.example>")
	if err != nil {
		t.Fatal(err)
	}
	rcpts, err := Message{To: to, Subject: subject, Body: body}.recipients()
	if err != nil {
		t.Fatalf("recipients: %v", err)
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return compose(from, rcpts, subject, body, at, newMessageID(from, at))
}

func TestComposeFoldsLongHeaders(t *testing.T) {
	subject := strings.Repeat("Cancellazioni sede è ", 40)
	var to []string
	for i := 0; i < 30; i++ {
		to = append(to, "reception.desk.number@clinic.example")
	}
	raw := composeFor(t, to, subject, "b")
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > foldAt+len("=?utf-8?q?") && !strings.HasPrefix(line, " =?") {
			t.Errorf("line of %d bytes not folded: %q", len(line), line)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var dec mime.WordDecoder
	got, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil || got != subject {
		t.Errorf("subject round trip: %q (%v)", got, err)
	}
	list, err := m.Header.AddressList("To")
	if err != nil || len(list) != 30 {
		t.Errorf("To parses to %d addresses (%v)", len(list), err)
	}
}

func TestMessageChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  Message
		is   error
	}{
		{"CR in subject", Message{To: []string{"a@b.example"}, Subject: "a\rb"}, ErrHeaderInjection},
		{"LF in name", Message{To: []string{"\"x\ny\" <a@b.example>"}}, ErrHeaderInjection},
		{"NUL in subject", Message{To: []string{"a@b.example"}, Subject: "a\x00b"}, errMessage},
		{"long subject", Message{To: []string{"a@b.example"}, Subject: strings.Repeat("s", MaxSubjectLen+1)}, errMessage},
		{"bad UTF-8 body", Message{To: []string{"a@b.example"}, Body: "\xff"}, errMessage},
		{"too many", Message{To: make([]string, MaxRecipients+1)}, errMessage},
		{"quoted local part", Message{To: []string{`"a b"@b.example`}}, errAddress},
		{"no domain", Message{To: []string{"a@"}}, errAddress},
		{"bad label", Message{To: []string{"a@-b.example"}}, errAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.msg.recipients(); !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
		})
	}
}

// FuzzParseAddress: an accepted address has a plain addr-spec, survives a
// render-and-parse round trip unchanged, and cannot inject a header.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"a@b.example", "FHIR bridge <bridge@clinic.example>", "\"Rossi, M.\" <m@x.example>",
		"a@[192.0.2.1]", "a@[IPv6:2001:db8::1]", "=?utf-8?q?J=C3=BCrgen?= <j@x.example>",
		"a@b.example\r\nBcc: c@d.example", "<a@b>", "a.b+c@d-e.f", "", "@", "a@b..c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAddress(s)
		if err != nil {
			if strings.ContainsAny(s, "\r\n") && !errors.Is(err, ErrHeaderInjection) {
				t.Errorf("line break refused without ErrHeaderInjection: %v", err)
			}
			return
		}
		if err := checkAddrSpec(a.Address); err != nil {
			t.Fatalf("accepted addr-spec fails its own check: %v", err)
		}
		rendered := a.String()
		if strings.ContainsAny(rendered, "\r\n") || strings.ContainsAny(a.Address, "\r\n \t<>\"") {
			t.Fatalf("unsafe rendering %q / %q", rendered, a.Address)
		}
		b, err := parseAddress(rendered)
		if err != nil || b.Address != a.Address || b.Name != a.Name {
			t.Fatalf("round trip of %q: %+v (%v), want %+v", rendered, b, err, a)
		}
	})
}

// FuzzComposeSubject: any subject Send accepts yields exactly the headers
// compose writes (no injection), lines within RFC 5322's limit, and a
// subject that decodes back (white space runs aside).
func FuzzComposeSubject(f *testing.F) {
	for _, s := range []string{"hello", "Cancellazioni — sede", strings.Repeat("long words ", 60), "a\tb", "=?utf-8?q?x?=", "  lead and trail  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		if checkSubject(subject) != nil {
			return
		}
		raw := composeFor(t, []string{"a@b.example"}, subject, "body")
		for _, line := range bytes.Split(raw, []byte("\r\n")) {
			if len(line) > 998 || bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("bad line %q", line)
			}
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("composed message does not parse: %v", err)
		}
		if len(m.Header) != 8 {
			t.Fatalf("%d headers, want 8: %v", len(m.Header), m.Header)
		}
		var dec mime.WordDecoder
		got, err := dec.DecodeHeader(m.Header.Get("Subject"))
		if err != nil {
			t.Fatalf("subject does not decode: %v", err)
		}
		if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(subject), " ") {
			t.Fatalf("subject %q decodes to %q", subject, got)
		}
	})
}
