package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// TestHelpNamesOnlyVendorsThatExist: `fhirbridge --help` names the vendors
// the binary serves and none that are only planned.
func TestHelpNamesOnlyVendorsThatExist(t *testing.T) {
	out, _, code := run(t, "", "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	cases := []struct {
		vendor string
		named  bool
	}{
		{"tuOtempO", true},
		{"Teladoc Health Solo", true},
		{"TytoCare", true},
		{"Bandyer", true},
		{"VSee", true},
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, tc := range cases {
		if got := strings.Contains(flat, tc.vendor); got != tc.named {
			t.Errorf("--help names %s: %v, want %v", tc.vendor, got, tc.named)
		}
	}
}

// TestReadmeMappingCount: a count of shipped mappings the README states
// must be the real one (it said six when there were eighteen).
func TestReadmeMappingCount(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	words := map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
	n := len(shipped.Names())
	for _, m := range regexp.MustCompile(`(?i)\b(\w+)\s+shipped\s+mappings`).FindAllStringSubmatch(string(b), -1) {
		said, ok := words[strings.ToLower(m[1])]
		if !ok {
			if said, err = strconv.Atoi(m[1]); err != nil {
				continue // "the shipped mappings", "every shipped mapping"
			}
		}
		if said != n {
			t.Errorf("README says %q; there are %d shipped mappings", m[0], n)
		}
	}
}
