package vsee

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Name is the registry name of the module and connector.
const Name = "vsee"

// DefaultTimeout bounds one HTTP exchange when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Config configures the VSee Clinic connector (connectors.vsee).
type Config struct {
	// BaseURL is the VSee Clinic API's URL (POST /users/sso, /intakes,
	// /visits…); http or https, no query.
	BaseURL string `json:"base_url" yaml:"base_url"`
	// PortalBaseURL is the clinic's patient portal, the spec's
	// {portal_base_url} (e.g. https://vclinic.vseepreview.com/vc/next/):
	// links are {portal_base_url}auth?…, invite links
	// {portal_base_url}visits/join/{code}, with or without a final "/".
	PortalBaseURL string `json:"portal_base_url" yaml:"portal_base_url"`
	// APIKey and APISecret authenticate POST /users/sso, sent as the
	// headers X-ApiKey and X-ApiSecret (the spec names no header: an
	// assumption to confirm with the vendor). Print redacted.
	APIKey    connectors.Secret `json:"api_key" yaml:"api_key"`
	APISecret connectors.Secret `json:"api_secret" yaml:"api_secret"`
	// AdminToken, when set, is the clinic's Admin API token: POST /visits
	// is sent with it instead of the patient's SSO token, which the spec
	// says forces the appointment even without providers' availability.
	AdminToken connectors.Secret `json:"admin_token" yaml:"admin_token"`
	// Timeout bounds one HTTP exchange; 0 means DefaultTimeout.
	Timeout connectors.Duration `json:"timeout" yaml:"timeout"`
	// Links configures serve's POST /vsee/links.
	Links LinksConfig `json:"links" yaml:"links"`
}

// LinksConfig configures the link endpoint.
type LinksConfig struct {
	// Tokens are the bearer tokens of the portals allowed to ask for
	// links; none turns the endpoint off.
	Tokens []connectors.Secret `json:"tokens" yaml:"tokens"`
}

// settings is a validated Config with its defaults applied.
type settings struct {
	base, portal *url.URL
	key, secret  connectors.Secret
	admin        connectors.Secret
	timeout      time.Duration
	linkTokens   []connectors.Secret
}

// validate checks cfg and applies its defaults. Errors name the key at
// fault (connectors.vsee.<key>), never a credential.
func validate(cfg Config) (settings, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("connectors.vsee.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	s := settings{key: cfg.APIKey, secret: cfg.APISecret, admin: cfg.AdminToken,
		timeout: time.Duration(cfg.Timeout), linkTokens: cfg.Links.Tokens}
	s.base = parseBase("base_url", cfg.BaseURL, bad)
	if s.base != nil {
		s.base.Path = strings.TrimRight(s.base.Path, "/")
		s.base.RawPath = ""
	}
	s.portal = parseBase("portal_base_url", cfg.PortalBaseURL, bad)
	for key, v := range map[string]connectors.Secret{"api_key": cfg.APIKey, "api_secret": cfg.APISecret} {
		if v == "" {
			bad(key, "required")
		}
	}
	for key, v := range map[string]connectors.Secret{"api_key": cfg.APIKey, "api_secret": cfg.APISecret, "admin_token": cfg.AdminToken} {
		if strings.ContainsAny(string(v), "\r\n") {
			bad(key, "contains a line break")
		}
	}
	for i, t := range cfg.Links.Tokens {
		if len(t) < 16 {
			bad(fmt.Sprintf("links.tokens[%d]", i), "is shorter than 16 characters")
		}
	}
	if cfg.Timeout < 0 {
		bad("timeout", "is negative")
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("configuring vsee: %w", errors.Join(sortErrs(errs)...))
	}
	return s, nil
}

// sortErrs orders errors by text so a message does not depend on map order.
func sortErrs(errs []error) []error {
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && errs[j].Error() < errs[j-1].Error(); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
	return errs
}

// parseBase checks an http(s) base URL with a host and no user info,
// query or fragment; nil when it is not one.
func parseBase(key, raw string, bad func(key, format string, args ...any)) *url.URL {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		bad(key, "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad(key, "must be an http or https URL with a host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		bad(key, "must have no user info, query or fragment")
	default:
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				bad(key, "port %s is outside 1-65535", p)
				return nil
			}
		}
		return u
	}
	return nil
}
