package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// validateDatabase checks database.url without connecting: its scheme, a
// SQLite path, or a PostgreSQL URL the driver accepts with every host's
// port in 1-65535. Errors never quote the password.
func (c *Config) validateDatabase() []error {
	u := c.Database.URL.Reveal()
	switch {
	case strings.HasPrefix(u, "sqlite://"):
		if p := strings.TrimPrefix(u, "sqlite://"); p == "" || strings.ContainsAny(p, "?#") {
			return []error{errors.New("database.url: sqlite://PATH needs a path, without '?' or '#'")}
		}
		return nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
	default:
		return []error{errors.New("database.url: want sqlite://PATH or postgres://…")}
	}
	var errs []error
	_, rest, _ := strings.Cut(u, "://")
	rest, _, _ = strings.Cut(rest, "?")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:] // past user:password
	}
	hosts, _, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hosts, ",") {
		if h == "" || !strings.Contains(strings.TrimPrefix(h, "["), ":") || strings.HasSuffix(h, "]") {
			continue // no port: the driver's default (5432)
		}
		if _, port, err := net.SplitHostPort(h); err != nil {
			errs = append(errs, fmt.Errorf("database.url: host %q: want host or host:port", h))
		} else if err := connectors.CheckPort(port); err != nil {
			errs = append(errs, fmt.Errorf("database.url: host %q: %w", h, err))
		}
	}
	if len(errs) == 0 {
		if _, err := pgx.ParseConfig(u); err != nil {
			// the driver's message may quote the URL: not repeated
			errs = append(errs, errors.New("database.url: not a PostgreSQL URL the driver accepts (check the escaping of user and password, the host list and the options)"))
		}
	}
	return errs
}

// validateAddresses checks the syntax and port range of every address
// serve or check dials: the SMTP server and the http(s) URL of the EHR (a
// vendor module checks its own).
func (c *Config) validateAddresses() []error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	urlPort := func(key, raw string) {
		if u, err := url.Parse(raw); err == nil && u.Port() != "" {
			add(key, connectors.CheckPort(u.Port()))
		}
	}
	if m := c.Mail; m != nil {
		if m.Host != "" {
			add("mail.host", connectors.CheckHost(m.Host))
		}
		if m.Port != 0 {
			add("mail.port", connectors.CheckPort(strconv.Itoa(m.Port)))
		}
	}
	if e := c.EHR; e != nil {
		urlPort("ehr.fhir_base_url", e.FHIRBaseURL)
		if e.SMART != nil && e.SMART.TokenURL != "" {
			urlPort("ehr.smart.token_url", e.SMART.TokenURL)
		}
	}
	return errs
}

// Preflight opens every file serve reads at start or while running and
// checks that it holds what it should, each error naming its key: the
// TLS certificate, key and client CA; the SMTP CA; what each module
// section opens (bridge.SectionPreflighter). Secret files are read by
// Load already, mapping files by `check`. It does not connect or listen.
func (c *Config) Preflight() error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	if t := c.Server.TLS; t.CertFile != "" && t.KeyFile != "" {
		cert, cerr := os.ReadFile(t.CertFile)
		add("server.tls.cert_file", cerr)
		key, kerr := os.ReadFile(t.KeyFile)
		add("server.tls.key_file", kerr)
		if cerr == nil && kerr == nil {
			if _, err := tls.X509KeyPair(cert, key); err != nil {
				add("server.tls.cert_file, server.tls.key_file", fmt.Errorf("not a PEM certificate and its private key: %w", err))
			}
		}
	}
	if f := c.Server.TLS.ClientCAFile; f != "" {
		add("server.tls.client_ca_file", connectors.ReadCAs(f))
	}
	c.preflightHL7v2(add)
	if m := c.Mail; m != nil && m.CAFile != "" {
		add("mail.ca_file", connectors.ReadCAs(m.CAFile))
	}
	for _, name := range c.moduleNames() {
		if p, ok := c.Connectors.Modules[name].(bridge.SectionPreflighter); ok {
			if err := p.Preflight(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// ServeSummary says how serve would run with this configuration: where
// it listens, whether bearer-token authentication, TLS and mutual TLS are
// on, and the store (its password redacted).
func (c *Config) ServeSummary() string {
	auth := fmt.Sprintf("auth on (%d bearer token(s))", len(c.Server.Tokens))
	if len(c.Server.Tokens) == 0 {
		auth = "auth OFF (no server.tokens: loopback only)"
	}
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "OFF"
	}
	t := c.Server.TLS
	return fmt.Sprintf("serve: listen %s, %s, TLS %s, mutual TLS %s, store %s; %s",
		c.Server.Listen, auth, onOff(t.CertFile != ""), onOff(t.ClientCAFile != ""), c.Database.URL, c.consoleSummary())
}
