package connectors

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzVendorReason: whatever a vendor answers, the summary is one bounded
// line of valid UTF-8 and never holds a word the request carried, in a
// message, a code, a field name or a path.
func FuzzVendorReason(f *testing.F) {
	for _, s := range []string{
		`{"message":"patient Qzvkanary not found"}`,
		`{"code":"Qzvkanary","field":"name.Qzvkanary","errors":{"Qzvkanary":"bad"}}`,
		`{"issue":[{"diagnostics":"family 'Qzvkanary' too long","expression":["Patient.name[0]"]}]}`,
		"<html><body>Qzvkanary-123 \"x\" é\xff</body></html>",
		`plain text, QZVKANARY; call 555-0100 or a@b.c`,
		``,
	} {
		f.Add([]byte(s))
	}
	sent := []byte(`{"name":{"family":"Qzvkanary"}}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		out := VendorReason(body, sent)
		if len(out) > MaxVendorReason {
			t.Fatalf("summary of %d bytes, over %d", len(out), MaxVendorReason)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("summary is not valid UTF-8: %q", out)
		}
		if strings.IndexFunc(out, unicode.IsControl) >= 0 {
			t.Fatalf("summary holds a control character: %q", out)
		}
		for _, w := range splitWords(out) {
			if w == "qzvkanary" {
				t.Fatalf("summary echoes a value of the request: %q", out)
			}
		}
	})
}

// FuzzPathOf: a value placed in a path is one segment that decodes back to
// itself, or the path is refused; it never adds, removes or walks a segment.
func FuzzPathOf(f *testing.F) {
	for _, s := range []string{"123", "a/b", "..", ".", "", "a?b#c", "%2e%2e", "x y", "\x00", "é/../x"} {
		f.Add(s)
	}
	base, err := url.Parse("https://vendor.example/api")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v string) {
		u, err := PathOf("/patients/{id}/documents", v).URL(base)
		if v == "" || v == "." || v == ".." {
			if err == nil {
				t.Fatalf("value %q accepted", v)
			}
			return
		}
		if err != nil {
			t.Fatalf("value %q refused: %v", v, err)
		}
		again, err := url.Parse(u.String())
		if err != nil {
			t.Fatalf("built URL %q does not parse: %v", u.String(), err)
		}
		segs := strings.Split(again.EscapedPath(), "/")
		if len(segs) != 5 || segs[1] != "api" || segs[2] != "patients" || segs[4] != "documents" {
			t.Fatalf("value %q changed the path: %q", v, again.EscapedPath())
		}
		if got, err := url.PathUnescape(segs[3]); err != nil || got != v {
			t.Fatalf("segment %q decodes to %q (%v), want the value %q", segs[3], got, err, v)
		}
		if again.RawQuery != "" || again.Fragment != "" {
			t.Fatalf("value %q added a query or fragment: %q", v, u.String())
		}
	})
}
