package fhir

import (
	"regexp"
	"strings"
	"testing"
)

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"pat-1", true},
		{"Appointment.2026-03-01.v2", true},
		{"ABCxyz0189-.", true},
		{"...", true}, // an R4 id, and no path step
		{".a", true},
		{strings.Repeat("x", 64), true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{".", false},
		{"..", false},
		{"a b", false},
		{"a_b", false},
		{"a/b", false},
		{"../etc", false},
		{"a%2Fb", false},
		{"é", false},
		{"a\x00", false},
		{"a\n", false},
		{"Patient/1", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// r4ID is the R4 id pattern as the specification writes it.
var r4ID = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

// FuzzValidID holds ValidID to the R4 pattern less "." and "..".
func FuzzValidID(f *testing.F) {
	for _, s := range []string{"a", ".", "..", "...", "a/b", strings.Repeat("x", 64), strings.Repeat("x", 65), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := r4ID.MatchString(id) && id != "." && id != ".."
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	})
}
