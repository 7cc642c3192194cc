package sso

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Section is the config key of the SSO section, which errors name.
const Section = "connectors.tuotempo.sso"

// Defaults of Config.
const (
	DefaultSessionURL = "https://app.tuotempo.com/mop_customer.php"
	DefaultMapping    = "tuotempo/sso-login"
	DefaultTimeout    = 10 * time.Second
	// minTokenLen is the shortest bearer token accepted.
	minTokenLen = 16
)

// Config is the connectors.tuotempo.sso section: the patient single
// sign-on of guide D.1.
type Config struct {
	// LoginURL is tuOtempO's server-to-server patient login (https).
	// Required.
	LoginURL string `yaml:"login_url"`
	// DBName is tuOtempO's dbName of the site (tt_acme). Required.
	DBName string `yaml:"db_name"`
	// User and Password are sent as HTTP Basic on the login call, never
	// in a URL. Required.
	User     string            `yaml:"user"`
	Password connectors.Secret `yaml:"password"`
	// SessionURL is where the patient's browser goes, with dbName and
	// sessionid added (default https://app.tuotempo.com/mop_customer.php).
	SessionURL string `yaml:"session_url"`
	// Tokens are the bearer tokens of the portals allowed to call (at
	// least one, each of 16 characters or more).
	Tokens []connectors.Secret `yaml:"tokens"`
	// Mapping is the Patient → login form mapping (default
	// tuotempo/sso-login), a shipped name or a file.
	Mapping string `yaml:"mapping"`
	// Params are the mapping's parameters (tuotempo/sso-login takes
	// id_number_system, the identifier system of idnumber).
	Params map[string]string `yaml:"params"`
	// Timeout bounds the login call (default 10s, at most 2m).
	Timeout connectors.Duration `yaml:"timeout"`
}

// FillDefaults sets the defaults of the fields left zero.
func (c *Config) FillDefaults() {
	if c.SessionURL == "" {
		c.SessionURL = DefaultSessionURL
	}
	if c.Mapping == "" {
		c.Mapping = DefaultMapping
	}
	if c.Timeout == 0 {
		c.Timeout = connectors.Duration(DefaultTimeout)
	}
}

// Validate checks the section (after FillDefaults) without the network;
// each error names its key and never holds a secret.
func (c *Config) Validate() []error {
	var errs []error
	for _, u := range []struct{ key, v string }{{"login_url", c.LoginURL}, {"session_url", c.SessionURL}} {
		if u.v == "" {
			errs = append(errs, fmt.Errorf("%s.%s: required", Section, u.key))
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && !(p.Scheme == "http" && loopback(p.Hostname()))) || p.Host == "" || p.User != nil || p.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s.%s: want an https URL (http only on a loopback address) without user or fragment", Section, u.key))
			continue
		}
		if u.key == "login_url" && p.RawQuery != "" {
			errs = append(errs, fmt.Errorf("%s.login_url: no query string (the login is a form POST)", Section))
		}
	}
	if c.DBName == "" {
		errs = append(errs, errors.New(Section+".db_name: required"))
	}
	if c.User == "" || c.Password == "" {
		errs = append(errs, errors.New(Section+".user, .password: required (HTTP Basic of the login call)"))
	}
	if len(c.Tokens) == 0 {
		errs = append(errs, errors.New(Section+".tokens: at least one portal token is required"))
	}
	for i, t := range c.Tokens {
		if len(t.Reveal()) < minTokenLen {
			errs = append(errs, fmt.Errorf("%s.tokens[%d]: shorter than %d characters", Section, i, minTokenLen))
		}
	}
	if c.Mapping == "" {
		errs = append(errs, errors.New(Section+".mapping: required"))
	}
	if d := time.Duration(c.Timeout); d <= 0 || d > 2*time.Minute {
		errs = append(errs, fmt.Errorf("%s.timeout %s: want more than 0, at most 2m", Section, d))
	}
	return errs
}

// loopback reports whether host is a loopback name or address (the
// sandbox's login server on this machine), where plain http cannot be
// overheard.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
