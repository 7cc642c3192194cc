package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestImportCommandEndToEnd runs a module's import command through the
// application: `import solo-report` (contributed by the Solo module under
// the shared import command) reads the configuration through the
// application's loader, stores through its store (creating the data
// folder) and router, and ends with the exit status it chose.
func TestImportCommandEndToEnd(t *testing.T) {
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	sim.ReportRowsPerDay(6)
	dir := t.TempDir()
	t.Setenv("TEST_SOLO_KEY", solosim.DefaultAPIKey)
	cfg := filepath.Join(dir, "cfg.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+`
connectors:
  solo:
    base_url: `+srv.URL+`
    api_key: {env: TEST_SOLO_KEY}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := solosim.WriteReport(&b, day, day, 4); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(b.String(), "\r\n")
	rows[3] = strings.Replace(rows[3], ",900,", ",900,bogus status,", 1)
	rows[3] = strings.Replace(rows[3], "bogus status,completed", "bogus status", 1)
	some := filepath.Join(dir, "some.csv")
	if err := os.WriteFile(some, []byte(strings.Join(rows, "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		inStderr string
	}{
		{"data dump to the store", []string{"--from", "2026-03-01", "--to", "2026-03-01", "--to-store"}, 0, "store: 12 stored"},
		{"one row refused", []string{"--file", some}, 1, "refused line 4:"},
		{"flags refused", []string{"--file", some, "--from", "2026-03-01", "--to", "2026-03-02"}, 2, "fhirbridge import solo-report: give exactly one of"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := run(t, "", append([]string{"import", "solo-report", "--config", cfg}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.inStderr) {
				t.Fatalf("exit %d (want %d), stderr lacks %q?\n%s", code, tt.code, tt.inStderr, errOut)
			}
			if strings.Contains(errOut, "fhirbridge: exit status") {
				t.Errorf("the exit status was printed as an error:\n%s", errOut)
			}
		})
	}
}
