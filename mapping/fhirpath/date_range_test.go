package fhirpath

import (
	"errors"
	"testing"
)

// TestDateArithmeticRange: date arithmetic that would leave the years
// FHIR holds is an error, never a date wrapped round, and far shifts that
// stay in range are exact.
func TestDateArithmeticRange(t *testing.T) {
	for _, tc := range []struct {
		expr, want string // want "" = an error
	}{
		{"@2026-03-01T10:00:00Z + 999999999999 minutes", ""},
		{"@2026-03-01T10:00:00Z - 999999999999 'min'", ""},
		{"@2026-03-01T10:00:00Z + 9000 years", ""},
		{"@2026-03-01 - 2026 years", ""},
		{"@2026-03-01T10:00:00Z + 99999999999999999999999 'ms'", ""},
		{"@2026-03-01T10:00:00Z + 5000000 hours", "2596-07-23T18:00:00Z"},
		{"@2026-03-01T10:00:00Z + 90 minutes", "2026-03-01T11:30:00Z"},
		{"@2026-03-01T10:00:00Z - 36 hours", "2026-02-27T22:00:00Z"},
		{"@2026-03-01T10:00:00Z + 7000 years", "9026-03-01T10:00:00Z"},
		{"@T23:00:00 + 3 hours", "02:00:00"},
	} {
		e, err := Compile(tc.expr, Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got, err := e.Eval(&Env{}, nil)
		if tc.want == "" {
			if err == nil || !errors.Is(err, ErrEval) {
				t.Errorf("%s: got %v, %v; want an evaluation error", tc.expr, got, err)
			}
			continue
		}
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v, %v", tc.expr, got, err)
		}
		if s, _ := got[0].AsString(); s != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, s, tc.want)
		}
	}
}
