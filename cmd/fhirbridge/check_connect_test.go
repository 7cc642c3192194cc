package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/crypto/ssh"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/connectors/sftptest"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// Canary secrets: the configs name them through the environment and no
// output may show them.
const (
	canarySoloKey  = "CANARY-solo-key-3141"
	canarySFTPPass = "CANARY-sftp-pass-2718"
	canarySMTPPass = "CANARY-smtp-pass-1618"
	canaryEHRToken = "CANARY-ehr-token-1414"
)

// connectSite is one of each service check --connect tries, all up and
// accepting the canary secrets.
type connectSite struct {
	sim   *solosim.Sim
	solo  *httptest.Server
	sftp  *sftptest.Server
	relay *authRelay
	ehr   *httptest.Server
}

func newConnectSite(t *testing.T) *connectSite {
	t.Helper()
	s := &connectSite{sim: solosim.New(solosim.Options{APIKey: canarySoloKey, WaitingRooms: []string{"A", "B", "C"}})}
	s.solo = httptest.NewServer(s.sim)
	t.Cleanup(s.solo.Close)
	s.sftp = sftptest.NewServer(t, sftptest.WithLogin("bridge", canarySFTPPass))
	if err := os.MkdirAll(filepath.Join(s.sftp.Dir, "upload"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.sftp.Dir, "upload", "cancellations_1.csv"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.relay = newAuthRelay(t, "bridge", canarySMTPPass)
	s.ehr = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fhir/metadata" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+canaryEHRToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, `{"resourceType":"CapabilityStatement"}`)
	}))
	t.Cleanup(s.ehr.Close)
	return s
}

// config writes the site's config; fingerprint pins the SFTP host key.
func (s *connectSite) config(t *testing.T, fingerprint string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.relay.addr)
	cfg := filepath.Join(t.TempDir(), "site.yaml")
	err := os.WriteFile(cfg, []byte(fmt.Sprintf(`connectors:
  solo:
    base_url: %q
    api_key: {env: CHECK_SOLO_KEY}
  tuotempo:
    remote:
      kind: sftp
      host: %s
      port: %d
      user: bridge
      password: {env: CHECK_SFTP_PASS}
      host_key_fingerprint: %q
      dir: upload
mail:
  host: %s
  port: %s
  tls: none
  user: bridge
  password: {env: CHECK_SMTP_PASS}
  from: bridge@clinic.example
ehr:
  fhir_base_url: %q
  token: {env: CHECK_EHR_TOKEN}
`, s.solo.URL, s.sftp.Host, s.sftp.Port, fingerprint, host, port, s.ehr.URL+"/fhir")), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCheckConnect(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *connectSite) // breaks something; nil for none
		pin   func(t *testing.T, s *connectSite) string
		code  int
		want  []string // lines, in order, each a prefix of its line
		// wrote is whether the probe may have reached the SFTP folder
		noLogin bool
	}{
		{name: "everything ok", code: 0, want: []string{
			"ok   solo (GET /qapi/v1/waiting-rooms: 3 rooms)",
			"ok   sftp 127.0.0.1:%SFTP (login, host key, list: 1 file, write and remove a probe file)",
			"ok   smtp %SMTP (none, AUTH PLAIN, no message sent)",
			"ok   ehr %EHR/fhir (GET /metadata: 200 OK)",
		}},
		{name: "stopped simulators", code: 1,
			setup: func(t *testing.T, s *connectSite) { s.solo.Close(); s.sftp.Close(); s.relay.close(); s.ehr.Close() },
			want: []string{
				"FAIL solo: GET /qapi/v1/waiting-rooms: cannot reach Solo: dial tcp 127.0.0.1:",
				"FAIL sftp 127.0.0.1:%SFTP: cannot connect: dial tcp 127.0.0.1:%SFTP: connect: connection refused",
				"FAIL smtp %SMTP: connect: dial tcp %SMTP: connect: connection refused",
				"FAIL ehr %EHR/fhir: GET /metadata: cannot reach the EHR: dial tcp",
			}},
		{name: "wrong credentials", code: 1,
			setup: func(t *testing.T, _ *connectSite) {
				t.Setenv("CHECK_SOLO_KEY", canarySoloKey+"-wrong")
				t.Setenv("CHECK_SFTP_PASS", canarySFTPPass+"-wrong")
				t.Setenv("CHECK_SMTP_PASS", canarySMTPPass+"-wrong")
				t.Setenv("CHECK_EHR_TOKEN", canaryEHRToken+"-wrong")
			},
			want: []string{
				"FAIL solo: GET /qapi/v1/waiting-rooms: HTTP 401: the Api-Key was refused",
				"FAIL sftp 127.0.0.1:%SFTP: login refused (user, password or key): ",
				"FAIL smtp %SMTP: auth: 535 5.7.8 authentication credentials invalid (RFC 4954)",
				"FAIL ehr %EHR/fhir: GET /metadata: HTTP 401: the bearer token was refused",
			}},
		{name: "sftp server with another host key than pinned", code: 1, noLogin: true,
			pin: func(t *testing.T, _ *connectSite) string {
				return ssh.FingerprintSHA256(sftptest.NewHostKey(t).PublicKey())
			},
			want: []string{
				"ok   solo",
				"FAIL sftp 127.0.0.1:%SFTP: host key mismatch: server presented ssh-ed25519 key SHA256:",
				"ok   smtp",
				"ok   ehr",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CHECK_SOLO_KEY", canarySoloKey)
			t.Setenv("CHECK_SFTP_PASS", canarySFTPPass)
			t.Setenv("CHECK_SMTP_PASS", canarySMTPPass)
			t.Setenv("CHECK_EHR_TOKEN", canaryEHRToken)
			s := newConnectSite(t)
			pin := s.sftp.Fingerprint
			if tt.pin != nil {
				pin = tt.pin(t, s)
			}
			cfg := s.config(t, pin)
			sftpAddr, smtpAddr, ehrURL := s.sftp.Port, s.relay.addr, s.ehr.URL
			if tt.setup != nil {
				tt.setup(t, s)
			}
			out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			t.Log("\n" + out + stderr)
			lines := strings.Split(strings.TrimSpace(withoutServeSummary(out)), "\n")
			if len(lines) < 1+len(tt.want) || lines[0] != "ok  "+cfg {
				t.Fatalf("want the config line and %d check lines:\n%s%s", len(tt.want), out, stderr)
			}
			r := strings.NewReplacer("%SFTP", fmt.Sprint(sftpAddr), "%SMTP", smtpAddr, "%EHR", ehrURL)
			for i, w := range tt.want {
				if w = r.Replace(w); !strings.HasPrefix(lines[1+i], w) {
					t.Errorf("line %d:\n got %s\nwant %s…", 1+i, lines[1+i], w)
				}
			}
			for _, secret := range []string{canarySoloKey, canarySFTPPass, canarySMTPPass, canaryEHRToken} {
				if strings.Contains(out+stderr, secret) {
					t.Errorf("the output shows a secret (%s):\n%s%s", secret, out, stderr)
				}
			}
			// nothing is left in (or, with a wrong host key, ever written to) the folder
			entries, _ := os.ReadDir(filepath.Join(s.sftp.Dir, "upload"))
			if len(entries) != 1 || entries[0].Name() != "cancellations_1.csv" {
				t.Errorf("the SFTP folder holds %v", entries)
			}
			if tt.noLogin && s.sftp.Logins() != 0 {
				t.Errorf("%d login attempts to a server whose host key is not the pinned one", s.sftp.Logins())
			}
			if n := s.relay.mails.Load(); n != 0 {
				t.Errorf("the relay received %d messages", n)
			}
		})
	}
}

// TestCheckConnectLookupsAfterSolo: the waiting-room lookups run after
// Solo's check succeeded, and not after it failed.
func TestCheckConnectLookupsAfterSolo(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: canarySoloKey, WaitingRooms: []string{"General Practice"}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte(`connectors:
  solo:
    base_url: "`+srv.URL+`"
    api_key: {env: CHECK_SOLO_KEY}
    slots: {schedules: {derm: Dermatology}}
`), 0o600)
	t.Setenv("CHECK_SOLO_KEY", canarySoloKey)
	out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
	if code != 1 || !strings.Contains(out, "ok   solo (GET /qapi/v1/waiting-rooms: 1 room)") ||
		!strings.Contains(stderr, `connectors.solo.slots.schedules.derm: waiting room "Dermatology" does not exist at Solo`) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	t.Setenv("CHECK_SOLO_KEY", "wrong")
	out, stderr, code = run(t, "", "check", "--config", cfg, "--connect")
	if code != 1 || !strings.Contains(out, "FAIL solo: GET /qapi/v1/waiting-rooms: HTTP 401: the Api-Key was refused") ||
		strings.Contains(out+stderr, "Dermatology") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// TestCheckConnectConfigFromEnv: the config also comes from
// $FHIRBRIDGE_CONFIG; a local remote is checked like a server; a config
// with nothing to connect to says so.
func TestCheckConnectConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("connectors:\n  tuotempo:\n    remote: {kind: local, dir: out}\n"), 0o600)
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	t.Setenv("FHIRBRIDGE_CONFIG", cfg)
	out, stderr, code := run(t, "", "check", "--connect")
	if code != 0 || !strings.Contains(out, "ok   local "+filepath.Join(dir, "out")+" (folder, list: 0 files, write and remove a probe file)") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) != 0 {
		t.Errorf("the probe file was left: %v", entries)
	}
	os.WriteFile(cfg, []byte("data_dir: "+dir+"\n"), 0o600)
	out, stderr, code = run(t, "", "check", "--connect")
	if code != 0 || !strings.Contains(out, "nothing to connect to") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

// authRelay is a loopback SMTP relay that asks for AUTH PLAIN (in clear,
// which the mail package allows on loopback only) and counts messages.
type authRelay struct {
	addr       string
	user, pass string
	mails      atomic.Int32
	srv        *smtp.Server
	ln         net.Listener
}

func newAuthRelay(t *testing.T, user, pass string) *authRelay {
	t.Helper()
	r := &authRelay{user: user, pass: pass}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &authSession{r: r}, nil }))
	r.srv.Domain = "localhost"
	r.srv.AllowInsecureAuth = true
	r.srv.ReadTimeout, r.srv.WriteTimeout = 5*time.Second, 5*time.Second
	r.srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr, r.ln = l.Addr().String(), l
	go func() { _ = r.srv.Serve(l) }()
	t.Cleanup(r.close)
	return r
}

// close stops the relay; the listener is closed too, in case Serve has
// not started yet.
func (r *authRelay) close() { _ = r.ln.Close(); _ = r.srv.Close() }

type authSession struct {
	r      *authRelay
	authed bool
}

var _ smtp.AuthSession = (*authSession)(nil)

func (s *authSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.r.user || pass != s.r.pass {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}
func (s *authSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *authSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *authSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	s.r.mails.Add(1)
	return nil
}
func (s *authSession) Reset()        {}
func (s *authSession) Logout() error { return nil }

// TestCheckConnectTimeout: a service that does not answer fails on its
// own timeout while the others are checked at the same time; the lines
// keep their order.
func TestCheckConnectTimeout(t *testing.T) {
	old := app.CheckTimeout
	app.CheckTimeout = 300 * time.Millisecond
	t.Cleanup(func() { app.CheckTimeout = old })
	t.Setenv("CHECK_SOLO_KEY", canarySoloKey)
	t.Setenv("CHECK_SFTP_PASS", canarySFTPPass)
	t.Setenv("CHECK_SMTP_PASS", canarySMTPPass)
	t.Setenv("CHECK_EHR_TOKEN", canaryEHRToken)
	s := newConnectSite(t)
	s.sim.Inject(solosim.Fault{Path: "/qapi/v1/waiting-rooms", Status: 200, Delay: 2 * time.Second})
	start := time.Now()
	out, stderr, code := run(t, "", "check", "--config", s.config(t, s.sftp.Fingerprint), "--connect")
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("took %v: the checks did not run at once under their timeout", took)
	}
	lines := strings.Split(strings.TrimSpace(withoutServeSummary(out)), "\n")
	if code != 1 || len(lines) != 5 ||
		lines[1] != "FAIL solo: GET /qapi/v1/waiting-rooms: cannot reach Solo: no answer before the timeout" ||
		!strings.HasPrefix(lines[2], "ok   sftp") || !strings.HasPrefix(lines[3], "ok   smtp") || !strings.HasPrefix(lines[4], "ok   ehr") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}
