package fhirpath

import (
	"strings"
	"testing"
)

// evalSearchValue evaluates expr with %s bound to in.
func evalSearchValue(t *testing.T, expr string, in Collection) (Collection, error) {
	t.Helper()
	e, err := Compile(expr, Options{Vars: []string{"s"}})
	if err != nil {
		t.Fatalf("compile %s: %v", expr, err)
	}
	return e.Eval(&Env{Vars: map[string]Collection{"s": in}}, nil)
}

func TestSearchValue(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty string", "", ""},
		{"plain", "MRN-000451", "MRN-000451"},
		{"oid system", "urn:oid:2.16.840.1.113883.3.9999.1", "urn:oid:2.16.840.1.113883.3.9999.1"},
		{"http system", "http://hl7.org/fhir/sid/us-npi", "http://hl7.org/fhir/sid/us-npi"},
		{"unreserved and kept sub-delimiters", "a-b_c.d~e!f'g(h)i*j@k/l?m", "a-b_c.d~e!f'g(h)i*j@k/l?m"},
		{"backslash", `a\b`, `a\\b`},
		{"pipe", "a|b", `a\|b`},
		{"comma", "a,b", `a\,b`},
		{"dollar", "a$b", `a\$b`},
		{"percent", "100%", "100%25"},
		{"percent-encoded look-alike", "a%20b", "a%2520b"},
		{"ampersand", "a&b", "a%26b"},
		{"hash", "a#b", "a%23b"},
		{"plus", "a+b", "a%2Bb"},
		{"space", "a b", "a%20b"},
		{"semicolon", "a;b", "a%3Bb"},
		{"equals", "a=b", "a%3Db"},
		{"quote and angle brackets", `"<>"`, "%22%3C%3E%22"},
		{"brackets and braces", "[]{}", "%5B%5D%7B%7D"},
		{"caret and backquote", "^`", "%5E%60"},
		{"control characters", "a\tb\nc\x00", "a%09b%0Ac%00"},
		{"non-ASCII", "Müller-Łódź", "M%C3%BCller-%C5%81%C3%B3d%C5%BA"},
		{"every FHIR escape together", `\|,$`, `\\\|\,\$`},
		{"hostile identifier", `A|1,2$3\4 5+6&7#8;9%0`, `A\|1\,2\$3\\4%205%2B6%267%238%3B9%250`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := searchValueOf(tc.in); got != tc.want {
				t.Errorf("searchValueOf(%q) = %q, want %q", tc.in, got, tc.want)
			}
			out, err := evalSearchValue(t, "%s.searchValue()", Collection{String(tc.in)})
			if err != nil {
				t.Fatalf("%%s.searchValue() on %q: %v", tc.in, err)
			}
			if len(out) != 1 || out[0].TypeName() != "System.String" {
				t.Fatalf("%%s.searchValue() on %q gave %d items (%s), want one String", tc.in, len(out), strs(out))
			}
			if got, _ := out[0].AsString(); got != tc.want {
				t.Errorf("%%s.searchValue() on %q = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSearchValueInputs(t *testing.T) {
	tests := []struct {
		name    string
		in      Collection
		want    string // the result's strings, joined by commas
		wantErr string // a part of the error, "" for none
	}{
		{"empty collection gives empty", nil, "", ""},
		{"integer is refused", Collection{Integer(42)}, "", "searchValue() expects a string input"},
		{"boolean is refused", Collection{Boolean(true)}, "", "searchValue() expects a string input"},
		{"two strings are refused", Collection{String("a"), String("b")}, "", "searchValue() expects a single item but got a collection"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := evalSearchValue(t, "%s.searchValue()", tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strs(out); got != tc.want || len(out) != 0 && tc.want == "" {
				t.Errorf("got %q (%d items), want %q", got, len(out), tc.want)
			}
		})
	}
}

func TestSearchValueCompile(t *testing.T) {
	if !contains(Functions(), "searchValue") {
		t.Error("Functions() does not list searchValue")
	}
	for _, expr := range []string{"'a'.searchValue('x')", "'a'.searchvalue()"} {
		if _, err := Compile(expr, Options{}); err == nil {
			t.Errorf("Compile(%s) succeeded, want an error", expr)
		}
	}
	// an error names the function, never the value
	_, err := evalSearchValue(t, "%s.searchValue()", Collection{String("SECRET-MRN"), String("OTHER")})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v: want one without the value", err)
	}
}
