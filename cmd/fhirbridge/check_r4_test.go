package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckR4Paths: a route whose mapping names an element R4 does not
// define (strat for start) fails check with the mapping file, line:col and
// the nearest valid name; so does a route's when.
func TestCheckR4Paths(t *testing.T) {
	dir := t.TempDir()
	mapping := "name: t/appt\nversion: 1\nsource: Appointment\nfields:\n  - target: A\n    from: strat\n"
	if err := os.WriteFile(filepath.Join(dir, "appt.yaml"), []byte(mapping), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(`connectors:
  solo: {base_url: "https://s.example", api_key: {env: SOLO_API_KEY}}
routes:
  - {name: r1, resource: Appointment, mapping: appt.yaml, connector: solo}
  - {name: r2, resource: Appointment, when: "stauts = 'booked'", mapping: solo/appointment, connector: solo, params: {waiting_room: T}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOLO_API_KEY", "CANARY-KEY-41")
	_, stderr, code := run(t, "", "check", "--config", cfg)
	if code == 0 {
		t.Fatalf("check passed a mapping with from: strat\n%s", stderr)
	}
	for _, want := range []string{"appt.yaml:6:11:", "R4 Appointment has no element strat (did you mean start?)",
		"routes[1] (r2): when:", "has no element stauts (did you mean status?)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check output lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "CANARY") {
		t.Error("the secret must never print")
	}
}
