package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

func TestCheck(t *testing.T) {
	const canary = "CANARY-smtp-pass-8812"
	srv := newFakeServer(t, serverOpts{})
	relay := newFakeServer(t, serverOpts{plaintext: true})
	cases := []struct {
		name  string
		cfg   func() Config
		step  string // "" when Check succeeds
		want  string
		class connectors.Class
	}{
		{name: "starttls and auth plain", cfg: func() Config { return srv.config(TLSStartTLS) }},
		{name: "implicit tls and auth login", cfg: func() Config { c := srv.config(TLSImplicit); c.Auth = AuthLogin; return c }},
		{name: "loopback relay in clear with auth", cfg: func() Config { c := relay.config(TLSNone); c.CAFile = ""; return c }},
		{name: "loopback relay without auth", cfg: func() Config {
			c := relay.config(TLSNone)
			c.CAFile, c.User, c.Password = "", "", ""
			return c
		}},
		{name: "wrong password", cfg: func() Config { c := srv.config(TLSStartTLS); c.Password = canary; return c },
			step: stepAuth, want: "auth: 535 5.7.8 authentication credentials invalid (RFC 4954)", class: connectors.Reconnect},
		{name: "server down", cfg: func() Config { c := srv.config(TLSStartTLS); c.Port = deadPort(t); return c },
			step: stepConnect, want: "connect: dial tcp 127.0.0.1:", class: connectors.Transient},
		{name: "server silent", cfg: func() Config {
			c := srv.config(TLSStartTLS)
			c.Port, c.Timeout = silentServer(t), 300*time.Millisecond
			return c
		}, step: stepStartTLS, want: "starttls: no answer before the timeout", class: connectors.Transient},
		{name: "certificate not trusted", cfg: func() Config { c := srv.config(TLSStartTLS); c.CAFile = ""; return c },
			step: stepStartTLS, want: "starttls: x509: certificate signed by unknown authority", class: connectors.Reconnect},
		{name: "implicit tls not trusted", cfg: func() Config { c := srv.config(TLSImplicit); c.CAFile = ""; return c },
			step: stepTLS, want: "tls handshake: x509: certificate signed by unknown authority", class: connectors.Reconnect},
		{name: "no STARTTLS offered", cfg: func() Config {
			c := relay.config(TLSStartTLS)
			c.CAFile = ""
			return c
		}, step: stepStartTLS, want: "starttls: ", class: connectors.Reconnect},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(c.cfg())
			if err != nil {
				t.Fatal(err)
			}
			err = s.Check(context.Background())
			if c.step == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			t.Log(err)
			var ce *CheckError
			if !errors.As(err, &ce) || ce.Step != c.step || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Check error %v, want a *CheckError at %s starting %q", err, c.step, c.want)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(ce.Err.Error(), canary) {
				t.Errorf("the error shows the password: %v", err)
			}
			if class, _ := connectors.Classify(err); class != c.class {
				t.Errorf("class %v, want %v (%v)", class, c.class, err)
			}
		})
	}
	if n := len(srv.messages()) + len(relay.messages()); n != 0 {
		t.Fatalf("Check sent %d messages", n)
	}
}

func TestCheckCancelled(t *testing.T) {
	s, err := New(Config{Host: "127.0.0.1", Port: silentServer(t), TLS: TLSNone, From: "b@clinic.example"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.Check(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("Check = %v after %v, want the ctx deadline soon", err, time.Since(start))
	}
}
