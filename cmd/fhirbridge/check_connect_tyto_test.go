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
