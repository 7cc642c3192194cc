package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
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
		} else if err := checkPort(port); err != nil {
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

// checkPort accepts a decimal port in 1-65535.
func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not 1-65535", p)
	}
	return nil
}

// checkHost accepts a host name or IP address without a port.
func checkHost(h string) error {
	if h == "" || strings.ContainsAny(h, " \t/@?#") || (strings.Contains(h, ":") && net.ParseIP(h) == nil) {
		return fmt.Errorf("%q is not a host name or IP address (the port is set on its own)", h)
	}
	return nil
}

// validateAddresses checks the syntax and port range of every address
// serve or check dials: the file server, the SMTP server and the http(s)
// URL of the EHR (a vendor module checks its own).
func (c *Config) validateAddresses() []error {
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	urlPort := func(key, raw string) {
		if u, err := url.Parse(raw); err == nil && u.Port() != "" {
			add(key, checkPort(u.Port()))
		}
	}
	if t := c.Connectors.TuOtempO; t != nil && (t.Remote.Kind == "sftp" || t.Remote.Kind == "ftp") {
		if t.Remote.Host != "" {
			add("connectors.tuotempo.remote.host", checkHost(t.Remote.Host))
		}
		if p := t.Remote.Port; p != 0 {
			add("connectors.tuotempo.remote.port", checkPort(strconv.Itoa(p)))
		}
	}
	if m := c.Mail; m != nil {
		if m.Host != "" {
			add("mail.host", checkHost(m.Host))
		}
		if m.Port != 0 {
			add("mail.port", checkPort(strconv.Itoa(m.Port)))
		}
	}
	if e := c.EHR; e != nil {
		urlPort("ehr.fhir_base_url", e.FHIRBaseURL)
	}
	return errs
}

// Preflight opens every file serve reads at start or while running and
// checks that it holds what it should, each error naming its key: the
// TLS certificate, key and client CA; the SFTP known_hosts, private key
// and FTP CA of connectors.tuotempo.remote (relative to the config file,
// as serve reads them) and its local folder; the SMTP CA; what each
// module section opens (bridge.SectionPreflighter). Secret files are read by Load already, mapping files
// by `check`. It does not connect or listen.
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
		add("server.tls.client_ca_file", readCAs(f))
	}
	if t := c.Connectors.TuOtempO; t != nil {
		errs = append(errs, c.preflightRemote(t.Remote)...)
	}
	if m := c.Mail; m != nil && m.CAFile != "" {
		add("mail.ca_file", readCAs(m.CAFile))
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

// preflightRemote checks the files of connectors.tuotempo.remote.
func (c *Config) preflightRemote(r Remote) []error {
	const p = "connectors.tuotempo.remote."
	var errs []error
	add := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", p, key, err))
		}
	}
	switch r.Kind {
	case "sftp":
		if r.KnownHosts != "" {
			if _, err := knownhosts.New(c.rel(r.KnownHosts)); err != nil {
				add("known_hosts", err)
			}
		}
		if r.HostKeyFingerprint != "" {
			add("host_key_fingerprint", checkFingerprint(r.HostKeyFingerprint))
		}
		if r.KeyFile != "" {
			add("key_file", readSSHKey(c.rel(r.KeyFile), r.KeyPassphrase))
		}
	case "ftp":
		if r.CAFile != "" {
			add("ca_file", readCAs(c.rel(r.CAFile)))
		}
	case "local":
		if r.Dir != "" {
			add("dir", isDir(c.rel(r.Dir)))
		}
	}
	return errs
}

// rel resolves a path of the tuotempo remote against the config's folder,
// as serve does.
func (c *Config) rel(p string) string {
	if p != "" && !filepath.IsAbs(p) && c.dir != "" {
		return filepath.Join(c.dir, p)
	}
	return p
}

// readCAs reads a PEM file that must hold at least one certificate.
func readCAs(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate", path)
	}
	return nil
}

// readSSHKey reads and parses an SSH private key, unlocking it with
// passphrase when set. The parser's messages name no key material.
func readSSHKey(path string, passphrase Secret) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if passphrase.Set() {
		_, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(passphrase.Reveal()))
	} else {
		_, err = ssh.ParsePrivateKey(pem)
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return fmt.Errorf("%s is encrypted: set key_passphrase", path)
	case err != nil:
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}

// checkFingerprint accepts "SHA256:" and a base64 SHA-256 digest, as
// ssh-keygen -lf prints it.
func checkFingerprint(s string) error {
	d, ok := strings.CutPrefix(strings.TrimSpace(s), "SHA256:")
	if sum, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(d, "=")); !ok || err != nil || len(sum) != 32 {
		return errors.New(`want "SHA256:" and the base64 digest ssh-keygen -lf prints`)
	}
	return nil
}

// isDir checks that path is an existing folder.
func isDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", path)
	}
	return nil
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
	return fmt.Sprintf("serve: listen %s, %s, TLS %s, mutual TLS %s, store %s",
		c.Server.Listen, auth, onOff(t.CertFile != ""), onOff(t.ClientCAFile != ""), c.Database.URL)
}
