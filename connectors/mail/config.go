package mail

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// TLS modes for Config.TLS.
const (
	// TLSStartTLS connects in clear and upgrades with STARTTLS (RFC 3207)
	// before anything else; a server that cannot upgrade is an error,
	// never a fallback to clear text. Default port 587.
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (RFC 8314). Default
	// port 465.
	TLSImplicit = "implicit"
	// TLSNone sends in clear; allowed only to a loopback host (a local
	// relay). Default port 25.
	TLSNone = "none"
)

// SASL mechanisms for Config.Auth.
const (
	// AuthPlain is SASL PLAIN (RFC 4616), the default when User is set.
	AuthPlain = "plain"
	// AuthLogin is the obsolete LOGIN mechanism some servers still need.
	AuthLogin = "login"
)

// DefaultTimeout bounds one Send when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config says how to reach a site's SMTP server. The zero values of the
// optional fields take the documented defaults; Validate checks the rest.
type Config struct {
	// Host is the SMTP server's name or IP address (required).
	Host string `json:"host" yaml:"host"`
	// Port is the TCP port; 0 means 587 for starttls, 465 for implicit
	// and 25 for none.
	Port int `json:"port" yaml:"port"`
	// TLS is "starttls" (default), "implicit" or "none". "none" is
	// allowed only when Host is a loopback address (localhost,
	// 127.0.0.0/8, ::1).
	TLS string `json:"tls" yaml:"tls"`
	// CAFile is an optional PEM file of extra CA certificates trusted
	// besides the system pool (a site's internal CA).
	CAFile string `json:"ca_file" yaml:"ca_file"`
	// User is the login name; empty means no authentication.
	User string `json:"user" yaml:"user"`
	// Password is User's password. It prints redacted.
	Password connectors.Secret `json:"password" yaml:"password"`
	// Auth is the SASL mechanism, "plain" or "login"; empty means plain
	// when User is set. It must be empty when User is.
	Auth string `json:"auth" yaml:"auth"`
	// From is the sender address, "bridge@site.example" or
	// "FHIR bridge <bridge@site.example>" (required).
	From string `json:"from" yaml:"from"`
	// Timeout bounds one Send from dial to the server's last reply;
	// 0 means DefaultTimeout (30s).
	Timeout time.Duration `json:"timeout" yaml:"timeout"`
}

// Validate checks cfg and names the field at fault (never the password).
// It does not read CAFile; New does.
func (cfg Config) Validate() error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("configuring mail: %w", err)
	}
	return nil
}

func (cfg Config) validate() error {
	if cfg.Host == "" {
		return errors.New("host is empty")
	}
	if strings.ContainsAny(cfg.Host, " \t\r\n/@:") && net.ParseIP(cfg.Host) == nil {
		return errors.New("host must be a bare host name or IP address")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("port %d is out of range", cfg.Port)
	}
	switch cfg.tlsMode() {
	case TLSStartTLS, TLSImplicit:
	case TLSNone:
		if !isLoopback(cfg.Host) {
			return errors.New(`tls "none" is allowed only for a loopback host; use "starttls" or "implicit"`)
		}
	default:
		return fmt.Errorf("tls %q is not one of starttls, implicit, none", cfg.TLS)
	}
	if err := cfg.validateAuth(); err != nil {
		return err
	}
	if _, err := parseAddress(cfg.From); err != nil {
		return fmt.Errorf("from: %w", err)
	}
	if cfg.Timeout < 0 {
		return errors.New("timeout is negative")
	}
	return nil
}

func (cfg Config) validateAuth() error {
	if cfg.User == "" {
		if cfg.Password != "" {
			return errors.New("password is set but user is empty")
		}
		if cfg.Auth != "" {
			return errors.New("auth is set but user is empty")
		}
		return nil
	}
	if strings.ContainsAny(cfg.User, "\r\n\x00") {
		return errors.New("user contains a control character")
	}
	if strings.ContainsAny(cfg.Password.Reveal(), "\r\n\x00") {
		return errors.New("password contains a control character")
	}
	switch cfg.authMech() {
	case AuthPlain, AuthLogin:
		return nil
	default:
		return fmt.Errorf("auth %q is not one of plain, login", cfg.Auth)
	}
}

func (cfg Config) tlsMode() string {
	if cfg.TLS == "" {
		return TLSStartTLS
	}
	return cfg.TLS
}

func (cfg Config) authMech() string {
	if cfg.Auth == "" && cfg.User != "" {
		return AuthPlain
	}
	return cfg.Auth
}

func (cfg Config) port() int {
	if cfg.Port != 0 {
		return cfg.Port
	}
	switch cfg.tlsMode() {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	default:
		return 587
	}
}

func (cfg Config) addr() string {
	return net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.port()))
}

func (cfg Config) timeout() time.Duration {
	if cfg.Timeout == 0 {
		return DefaultTimeout
	}
	return cfg.Timeout
}

// isLoopback reports whether host names this machine without a DNS
// lookup: "localhost" (RFC 6761) or a loopback IP literal.
func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
