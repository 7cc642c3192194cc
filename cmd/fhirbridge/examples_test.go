package main

import (
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fixtures"
)

// TestOfficialExamples maps every official R4 example Patient and
// Appointment with the shipped mappings. Each one maps, or is refused with
// the reason this table documents (so a change in behaviour shows here).
func TestOfficialExamples(t *testing.T) {
	refused := map[string]string{
		// mapping|file → a substring of the expected error, and why
		// deceasedBoolean true with no date: Solo requires deceasedAt exactly when deceased
		"solo/patient|Patient-pat4.json": "field deceasedAt",
		// a proposed appointment (a request) has no start yet: APP_DATE is NOT NULL in tuOtempO's spec
		"tuotempo/export|Appointment-examplereq.json": "field APP_DATE",
		// the same for Solo, whose appointment needs its date
		"solo/appointment|Appointment-examplereq.json": "field date",
	}
	type flow struct{ mapping, prefix string }
	runs := []flow{
		{"solo/patient", "Patient-"},
		{"tuotempo/export", "Appointment-"},
		{"solo/appointment", "Appointment-"},
	}
	files, err := fs.Glob(fixtures.R4, "r4/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no R4 examples embedded: %v", err)
	}
	sort.Strings(files)
	for _, r := range runs {
		n := 0
		for _, f := range files {
			base := strings.TrimPrefix(f, "r4/")
			if !strings.HasPrefix(base, r.prefix) {
				continue
			}
			n++
			data, err := fs.ReadFile(fixtures.R4, f)
			if err != nil {
				t.Fatal(err)
			}
			key := r.mapping + "|" + base
			t.Run(key, func(t *testing.T) {
				args := append([]string{"map", "--mapping", r.mapping, "--in", "-", "--quiet", "--format", "ndjson"}, paramFor(r.mapping)...)
				out, stderr, code := run(t, string(data), args...)
				want, isRefused := refused[key]
				switch {
				case isRefused:
					if code != 1 || !strings.Contains(stderr, want) {
						t.Errorf("want refusal containing %q, got exit %d, stderr %q", want, code, stderr)
					}
				case code != 0:
					t.Errorf("exit %d: %s", code, stderr)
				case strings.Count(out, "\n") != 1:
					t.Errorf("want one record, got %q", out)
				}
			})
		}
		if n == 0 {
			t.Errorf("no %s examples", r.prefix)
		}
	}
}

func paramFor(m string) []string {
	switch m {
	case "tuotempo/export":
		return []string{"--param", "timezone=America/Chicago"}
	case "solo/appointment":
		return []string{"--param", "waiting_room=Telehealth"}
	}
	return nil
}
