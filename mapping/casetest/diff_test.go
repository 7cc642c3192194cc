package casetest

import (
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestDiff checks the structured changes: their paths, which side is
// absent, and the line a case failure prints for each.
func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name, want, got string
		changes         string // "path want got" per change, ";"-separated
	}{
		{"equal numbers by value", `[{"A":1}]`, `[{"A":1.0}]`, ""},
		{"member order ignored", `{"a":1,"b":2}`, `{"b":2,"a":1}`, ""},
		{"changed leaf", `[{"A":"x","B":{"c":[1,2]}}]`, `[{"B":{"c":[1,3]},"A":"x"}]`, "[0].B.c[1] 2 3"},
		{"kind differs", `[{"A":1}]`, `[{"A":"1"}]`, `[0].A 1 "1"`},
		{"absent on each side", `{"a":1}`, `{"b":2}`, "a 1 absent;b absent 2"},
		{"extra record", `[]`, `[{"A":1}]`, `[0] absent {"A":1}`},
		{"roots differ", `{"a":1}`, `[1]`, `$ {"a":1} [1]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := parse(t, tc.want), parse(t, tc.got)
			var parts []string
			for _, c := range Diff(want, got) {
				parts = append(parts, c.Path+" "+show(c.Want)+" "+show(c.Got))
				if line := c.String(); line != c.Path+": want "+show(c.Want)+", got "+show(c.Got) {
					t.Errorf("String() = %q", line)
				}
			}
			if s := strings.Join(parts, ";"); s != tc.changes {
				t.Errorf("Diff = %q, want %q", s, tc.changes)
			}
			if n := len(Lines(want, got)); n != len(parts) {
				t.Errorf("Lines gives %d lines for %d changes", n, len(parts))
			}
		})
	}
}

func parse(t *testing.T, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}
