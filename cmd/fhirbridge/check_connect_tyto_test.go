package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
)

// TestCheckConnectTyto: each Tyto tenant gets one line — ok, or the
// reason in the words of the spec's troubleshooting for a refused login
// (401) and an unreachable Tyto server (408), or a connection failure when
// the portal is down; the password never shows.
func TestCheckConnectTyto(t *testing.T) {
	const secret = "CANARY-TYTO-PASS-7"
	cases := []struct {
		name, password string
		setup          func(*tytosim.Sim)
		stop           bool
		code           int
		want           string
	}{
		{name: "ok", password: "tyto-pass", code: 0, want: "ok   tyto main "},
		{name: "wrong password", password: secret, code: 1,
			want: "HTTP 401: username/password incorrect or this host's IP is not whitelisted on the Tyto server"},
		{name: "IP not whitelisted", password: "tyto-pass", setup: func(s *tytosim.Sim) { s.SetWhitelisted(false) }, code: 1,
			want: "HTTP 401: username/password incorrect or this host's IP is not whitelisted on the Tyto server"},
		{name: "Tyto unreachable from the portal", password: "tyto-pass", setup: func(s *tytosim.Sim) { s.SetTytoReachable(false) }, code: 1,
			want: "HTTP 408: the portal cannot reach the Tyto server"},
		{name: "portal stopped", password: "tyto-pass", stop: true, code: 1, want: "FAIL tyto main "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim := tytosim.New(tytosim.Options{})
			srv := httptest.NewServer(sim)
			defer srv.Close()
			if c.setup != nil {
				c.setup(sim)
			}
			if c.stop {
				srv.Close()
			}
			t.Setenv("CHECK_TYTO_PASS", c.password)
			cfg := filepath.Join(t.TempDir(), "fhirbridge.yaml")
			os.WriteFile(cfg, []byte(`connectors:
  tyto:
    tenants:
      main: {portal_url: "`+srv.URL+`", username: tyto-user, password: {env: CHECK_TYTO_PASS}}
`), 0o600)
			out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
			if code != c.code || !strings.Contains(out+stderr, c.want) {
				t.Errorf("exit %d, want %d; want %q in:\n%s%s", code, c.code, c.want, out, stderr)
			}
			if strings.Contains(out+stderr, secret) {
				t.Error("the password was printed")
			}
		})
	}
}

// TestCheckReadmeTytoExample: the README's Tyto example (its tenant and
// four routes) passes check --config, and check --connect against the
// Tyto simulator; check used to know only Solo's routes.
func TestCheckReadmeTytoExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const start = "```yaml\nconnectors:\n  tyto:\n"
	i := strings.Index(string(readme), start)
	if i < 0 {
		t.Fatal("the README has no Tyto example starting " + start)
	}
	block := string(readme[i+len("```yaml\n"):])
	block = block[:strings.Index(block, "```")]
	sim := tytosim.New(tytosim.Options{Username: "bridge"})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	t.Setenv("TYTO_PASSWORD", tytosim.DefaultPassword)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		yaml string
		args []string
	}{
		{"check --config", block, nil},
		{"check --connect", strings.Replace(block, "https://portal.hospital.example", srv.URL, 1), []string{"--connect"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "fhirbridge.yaml")
			if err := os.WriteFile(cfg, []byte("server: {listen: \"127.0.0.1:0\"}\n"+tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			out, stderr, code := run(t, "", append([]string{"check", "--config", cfg}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s%s", code, out, stderr)
			}
			if len(tc.args) > 0 && !strings.Contains(out, "ok   tyto main "+srv.URL) {
				t.Errorf("no ok line for the tenant:\n%s", out)
			}
		})
	}
}
