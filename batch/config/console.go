package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Console is the section console: the operator's web console (package
// batch/console), served under /console/ on the FHIR listener or on its
// own address.
type Console struct {
	// Enabled is auto (the default: on when at least one console user
	// exists, see `fhirbridge console user add`), true or false.
	Enabled string `yaml:"enabled"`
	// Listen is the console's own host:port; empty (the default) serves it
	// on server.listen. It uses server.tls when that is set. Session
	// cookies are Secure except over plain HTTP from loopback, so beyond
	// loopback the browser must reach it over HTTPS (server.tls or a
	// TLS-terminating proxy).
	Listen string `yaml:"listen"`
	// IdleTimeout ends a session unused this long (default 30m, from 1m
	// to 24h).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// AbsoluteTimeout ends a session this long after its login, used or
	// not (default 12h, at least idle_timeout, at most 7 days).
	AbsoluteTimeout Duration `yaml:"absolute_timeout"`
	// OIDC adds a login through the site's OpenID Connect identity
	// provider (optional; local users keep working).
	OIDC *ConsoleOIDC `yaml:"oidc"`
}

// ConsoleOIDC is the section console.oidc: the authorization code flow
// (with PKCE and a nonce) against Issuer; the ID token's RoleClaim is
// mapped to a console role by Roles.
type ConsoleOIDC struct {
	// Issuer is the provider's issuer URL (https; http only on loopback),
	// whose /.well-known/openid-configuration is read at the first login.
	Issuer string `yaml:"issuer"`
	// ClientID is the console's client id at the provider.
	ClientID string `yaml:"client_id"`
	// ClientSecret is its secret ({env: NAME} or {file: PATH}); absent
	// for a public client (PKCE only).
	ClientSecret Secret `yaml:"client_secret" security:"true"`
	// RedirectURL is the console's callback as the browser reaches it,
	// ending in /console/oidc/callback, registered at the provider.
	RedirectURL string `yaml:"redirect_url"`
	// UserClaim names the claim used as the console user name (default
	// preferred_username).
	UserClaim string `yaml:"user_claim"`
	// RoleClaim names the claim (a string or a list of strings) mapped
	// to a role (default groups).
	RoleClaim string `yaml:"role_claim"`
	// Roles maps a value of RoleClaim to a console role (viewer,
	// operator, analyst, admin); with several matches the highest wins,
	// with none the login is refused.
	Roles map[string]string `yaml:"roles"`
}

// Values of console.enabled.
const (
	ConsoleAuto  = "auto"
	ConsoleTrue  = "true"
	ConsoleFalse = "false"
)

// Defaults of the console section.
const (
	DefaultConsoleIdleTimeout     = 30 * time.Minute
	DefaultConsoleAbsoluteTimeout = 12 * time.Hour
)

// fillConsoleDefaults fills the zero fields of the console section.
func (c *Config) fillConsoleDefaults() {
	k := &c.Console
	if k.Enabled == "" {
		k.Enabled = ConsoleAuto
	}
	if k.IdleTimeout == 0 {
		k.IdleTimeout = Duration(DefaultConsoleIdleTimeout)
	}
	if k.AbsoluteTimeout == 0 {
		k.AbsoluteTimeout = Duration(DefaultConsoleAbsoluteTimeout)
	}
	if o := k.OIDC; o != nil {
		if o.UserClaim == "" {
			o.UserClaim = "preferred_username"
		}
		if o.RoleClaim == "" {
			o.RoleClaim = "groups"
		}
	}
}

// validateConsole checks the console section.
func (c *Config) validateConsole() []error {
	k := c.Console
	var errs []error
	switch k.Enabled {
	case ConsoleAuto, ConsoleTrue, ConsoleFalse:
	default:
		errs = append(errs, fmt.Errorf("console.enabled %q: want auto, true or false", k.Enabled))
	}
	if k.Listen != "" {
		_, port, err := net.SplitHostPort(k.Listen)
		if err != nil {
			errs = append(errs, fmt.Errorf("console.listen %q: want host:port", k.Listen))
		} else if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("console.listen %q: port %q is not 1-65535 (or 0: any free port)", k.Listen, port))
		}
		if k.Listen == c.Server.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("console.listen %q: the same address as server.listen (leave console.listen empty to serve the console there)", k.Listen))
		}
		if k.Listen == c.HL7v2.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("console.listen %q: the same address as hl7v2.listen", k.Listen))
		}
	}
	idle, abs := time.Duration(k.IdleTimeout), time.Duration(k.AbsoluteTimeout)
	if idle < time.Minute || idle > 24*time.Hour {
		errs = append(errs, fmt.Errorf("console.idle_timeout %s: from 1m to 24h", idle))
	}
	if abs < idle || abs > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("console.absolute_timeout %s: from console.idle_timeout (%s) to 168h", abs, idle))
	}
	return append(errs, k.OIDC.validate()...)
}

// consoleRoles are the role names console.oidc.roles may map to.
var consoleRoles = map[string]bool{"viewer": true, "operator": true, "analyst": true, "admin": true}

// validate checks the console.oidc section (nil: none).
func (o *ConsoleOIDC) validate() []error {
	if o == nil {
		return nil
	}
	var errs []error
	if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		errs = append(errs, fmt.Errorf("console.oidc.issuer %q: want an https URL (http only on loopback)", o.Issuer))
	}
	if o.ClientID == "" {
		errs = append(errs, errors.New("console.oidc.client_id: required"))
	}
	if u, err := url.Parse(o.RedirectURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(u.Path, "/console/oidc/callback") {
		errs = append(errs, fmt.Errorf("console.oidc.redirect_url %q: want the console's URL ending in /console/oidc/callback", o.RedirectURL))
	}
	if len(o.Roles) == 0 {
		errs = append(errs, errors.New("console.oidc.roles: map at least one value of the role claim to a role"))
	}
	keys := make([]string, 0, len(o.Roles))
	for k := range o.Roles {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !consoleRoles[o.Roles[k]] {
			errs = append(errs, fmt.Errorf("console.oidc.roles.%s %q: want viewer, operator, analyst or admin", k, o.Roles[k]))
		}
	}
	return errs
}

// consoleSummary is the console's part of ServeSummary.
func (c *Config) consoleSummary() string {
	k := c.Console
	if k.Enabled == ConsoleFalse {
		return "console OFF (console.enabled: false)"
	}
	where := "/console/ on " + c.Server.Listen
	if k.Listen != "" {
		where = "/console/ on " + k.Listen
	}
	when := "on"
	if k.Enabled != ConsoleTrue {
		when = "auto: on once a console user exists (fhirbridge console user list)"
	}
	oidc := ""
	if k.OIDC != nil {
		oidc = ", OIDC login at " + k.OIDC.Issuer
	}
	return fmt.Sprintf("console %s at %s, sessions idle %s, absolute %s%s", when, where,
		time.Duration(k.IdleTimeout), time.Duration(k.AbsoluteTimeout), oidc)
}
