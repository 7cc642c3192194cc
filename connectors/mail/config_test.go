package mail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	base := Config{Host: "smtp.clinic.example", User: "bridge", Password: "pw-canary-77", From: "bridge@clinic.example"}
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantErr string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"no host", func(c *Config) { c.Host = "" }, "host"},
		{"host with port", func(c *Config) { c.Host = "smtp.clinic.example:25" }, "host"},
		{"ipv6 host", func(c *Config) { c.Host = "::1"; c.TLS = TLSNone }, ""},
		{"bad port", func(c *Config) { c.Port = 70000 }, "port"},
		{"unknown tls", func(c *Config) { c.TLS = "ssl" }, "tls"},
		{"plaintext to remote host", func(c *Config) { c.TLS = TLSNone }, `tls "none"`},
		{"plaintext to remote IP", func(c *Config) { c.Host, c.TLS = "192.0.2.7", TLSNone }, `tls "none"`},
		{"plaintext to localhost", func(c *Config) { c.Host, c.TLS = "localhost", TLSNone }, ""},
		{"plaintext to 127.0.0.2", func(c *Config) { c.Host, c.TLS = "127.0.0.2", TLSNone }, ""},
		{"implicit", func(c *Config) { c.TLS = TLSImplicit }, ""},
		{"unknown auth", func(c *Config) { c.Auth = "cram-md5" }, "auth"},
		{"login", func(c *Config) { c.Auth = AuthLogin }, ""},
		{"auth without user", func(c *Config) { c.User = ""; c.Password = ""; c.Auth = AuthPlain }, "auth"},
		{"password without user", func(c *Config) { c.User = "" }, "password"},
		{"no auth at all", func(c *Config) { c.User, c.Password = "", "" }, ""},
		{"user with newline", func(c *Config) { c.User = "a\r\nb" }, "user"},
		{"no from", func(c *Config) { c.From = "" }, "from"},
		{"from injection", func(c *Config) { c.From = "a@b.example\r\nBcc: x@y.example" }, "header injection"},
		{"from bad", func(c *Config) { c.From = "bridge at clinic" }, "from"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.edit(&cfg)
			err := cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatal("Validate accepted the config")
			case err != nil && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("error %q does not name %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "pw-canary-77"):
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		tls  string
		port int
	}{{"", 587}, {TLSStartTLS, 587}, {TLSImplicit, 465}, {TLSNone, 25}} {
		c := Config{TLS: tc.tls}
		if got := c.port(); got != tc.port {
			t.Errorf("tls %q: port %d, want %d", tc.tls, got, tc.port)
		}
	}
	c := Config{User: "u"}
	if c.authMech() != AuthPlain || c.timeout() != 30*time.Second || c.tlsMode() != TLSStartTLS {
		t.Errorf("defaults: auth %q timeout %v tls %q", c.authMech(), c.timeout(), c.tlsMode())
	}
}

func TestNewCAFile(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, file, want string }{
		{"missing", filepath.Join(dir, "none.pem"), "ca_file"},
		{"not PEM", junk, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Host: "smtp.clinic.example", From: "a@clinic.example", CAFile: tc.file})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// The password never shows in a printed Config or Sender.
func TestNoPasswordInPrints(t *testing.T) {
	cfg := Config{Host: "smtp.clinic.example", User: "u", Password: "pw-canary-77", From: "a@clinic.example"}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{cfg, &cfg, s, *s} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "pw-canary-77") {
				t.Errorf("%s of %T shows the password: %s", verb, v, out)
			}
		}
	}
}
