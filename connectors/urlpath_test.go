package connectors

import (
	"errors"
	"net/url"
	"testing"
)

func TestPathOf(t *testing.T) {
	cases := []struct {
		name, base, tmpl string
		vals             []string
		wantURL          string // "" when an error is wanted
		wantErr          error
	}{
		{"plain", "https://h/api", "/patients/{id}", []string{"123"}, "https://h/api/patients/123", nil},
		{"base with trailing slash", "https://h/api/", "/patients/{id}", []string{"1"}, "https://h/api/patients/1", nil},
		{"slash escaped once", "https://h", "/patients/{id}/documents", []string{"a/b"}, "https://h/patients/a%2Fb/documents", nil},
		{"percent escaped once", "https://h", "/p/{id}", []string{"50%"}, "https://h/p/50%25", nil},
		{"query and fragment characters", "https://h", "/p/{id}", []string{"a?b#c"}, "https://h/p/a%3Fb%23c", nil},
		{"two values", "https://h", "/a/{said}/attachments/{id}", []string{"7", "x y"}, "https://h/a/7/attachments/x%20y", nil},
		{"dots inside a value are fine", "https://h", "/p/{id}", []string{"a..b"}, "https://h/p/a..b", nil},
		{"escaped base kept", "https://h/my%2Fbase", "/p/{id}", []string{"1"}, "https://h/my%2Fbase/p/1", nil},
		{"no placeholder", "https://h", "/qapi/v1/waiting-rooms", nil, "https://h/qapi/v1/waiting-rooms", nil},
		{"dot-dot", "https://h", "/patients/{id}", []string{".."}, "", ErrPathSegment},
		{"dot", "https://h", "/patients/{id}", []string{"."}, "", ErrPathSegment},
		{"empty", "https://h", "/patients/{id}/documents", []string{""}, "", ErrPathSegment},
		{"second value dot-dot", "https://h", "/a/{said}/attachments/{id}", []string{"7", ".."}, "", ErrPathSegment},
		{"too few values", "https://h", "/a/{said}/b/{id}", []string{"7"}, "", ErrPathTemplate},
		{"too many values", "https://h", "/a/{said}", []string{"7", "8"}, "", ErrPathTemplate},
		{"unclosed placeholder", "https://h", "/a/{said", []string{"7"}, "", ErrPathTemplate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, err := url.Parse(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			p := PathOf(tc.tmpl, tc.vals...)
			u, err := p.URL(base)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(p.Err(), tc.wantErr) {
					t.Fatalf("URL error %v, Err %v; want %v", err, p.Err(), tc.wantErr)
				}
				if p.String() != tc.tmpl {
					t.Errorf("String() of a failed path %q, want the template", p.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tc.wantURL {
				t.Errorf("URL %s, want %s", got, tc.wantURL)
			}
			if p.Template() != tc.tmpl {
				t.Errorf("Template() %q", p.Template())
			}
			// What a server sees: the escaped path, unescaped segment by
			// segment, gives back the values.
			back, err := url.Parse(u.String())
			if err != nil || back.EscapedPath() != u.EscapedPath() {
				t.Errorf("round trip %v: %s vs %s", err, back.EscapedPath(), u.EscapedPath())
			}
		})
	}
}
