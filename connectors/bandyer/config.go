package bandyer

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Name is the registry name of the module and connector.
const Name = "bandyer"

// Defaults of Config.
const (
	// DefaultTimeout bounds one HTTP exchange when Config.Timeout is 0.
	DefaultTimeout = 30 * time.Second
	// DefaultUserHeader is the header that names the requesting user of
	// GET /teleconsultation/:roomId (an assumption: the spec does not say
	// how the backend identifies the user; to confirm with the vendor).
	DefaultUserHeader = "X-Bandyer-User"
	// DefaultLanguage is the language of a participant whose resource
	// names none, when Config.Language is "".
	DefaultLanguage = "en"
)

// DefaultPlusGroups are the plus groups when Config.PlusGroups is empty.
// The spec names no group list ("one of those listed in any of the
// privileges.$.groups array of the service configuration file"); its
// examples use "doctor" and "patient", and only a doctor can be the "plus
// user" a room needs — an assumption to confirm with the vendor.
var DefaultPlusGroups = []string{"doctor"}

// DefaultGroups is the group table used for every key Config.Groups
// leaves out.
var DefaultGroups = map[string]string{"Practitioner": "doctor", "Patient": "patient"}

// groupKinds are the resource types a groups key may name; any other key is
// a PractitionerRole code.
var groupKinds = map[string]bool{"Patient": true, "Practitioner": true, "RelatedPerson": true}

// Config configures the Bandyer connector (connectors.bandyer).
type Config struct {
	// BaseURL is the Teleconsultation Service Backend's URL
	// ("https://my_project_url" in the spec); http or https, no query.
	BaseURL string `json:"base_url" yaml:"base_url"`
	// APIKey, when set, is sent as "Authorization: Bearer <key>" on every
	// call. The spec documents no service authentication; the scheme is an
	// assumption to confirm with the vendor. Prints redacted.
	APIKey connectors.Secret `json:"api_key" yaml:"api_key"`
	// Auth0 says the backend is configured with its auth0 dependency:
	// participants are sent as the plain array of auth0 user ids, without
	// groups or fullName, as the spec says.
	Auth0 bool `json:"auth0" yaml:"auth0"`
	// PlusGroups are the groups whose members are "plus users"; a room
	// needs one. Empty means DefaultPlusGroups.
	PlusGroups []string `json:"plus_groups" yaml:"plus_groups"`
	// ImmutablePeriod mirrors the backend's IMMUTABLE_PERIOD_MS: from this
	// long before the start, once all participants are known, a change is
	// not sent but refused. 0 (the default) means the bridge does not
	// know the backend's value and sends every change.
	ImmutablePeriod connectors.Duration `json:"immutable_period" yaml:"immutable_period"`
	// UserHeader names the requesting participant of
	// GET /teleconsultation/:roomId (its value is the userExternalId).
	// Empty means DefaultUserHeader.
	UserHeader string `json:"user_header" yaml:"user_header"`
	// Groups maps "Patient", "Practitioner", "RelatedPerson" or a
	// PractitionerRole code to a Bandyer group; keys left out take
	// DefaultGroups. A PractitionerRole without a mapped code takes the
	// Practitioner group.
	Groups map[string]string `json:"groups" yaml:"groups"`
	// Language is a participant's language when its resource has no
	// communication language. Empty means DefaultLanguage.
	Language string `json:"language" yaml:"language"`
	// IdentifierSystem, when set, makes a participant's userExternalId the
	// value of its identifier in this system instead of its FHIR id (with
	// auth0, the system holding the auth0 user ids).
	IdentifierSystem string `json:"identifier_system" yaml:"identifier_system"`
	// Timeout bounds one HTTP exchange; 0 means DefaultTimeout.
	Timeout connectors.Duration `json:"timeout" yaml:"timeout"`
}

// settings is a validated Config with its defaults applied.
type settings struct {
	base       *url.URL
	apiKey     connectors.Secret
	auth0      bool
	plus       map[string]bool
	immutable  time.Duration
	userHeader string
	groups     map[string]string
	language   string
	system     string
	timeout    time.Duration
}

// validate checks cfg and applies its defaults. Errors name the key at
// fault (connectors.bandyer.<key>), never a credential.
func validate(cfg Config) (settings, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("connectors.bandyer.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	s := settings{apiKey: cfg.APIKey, auth0: cfg.Auth0, immutable: time.Duration(cfg.ImmutablePeriod),
		userHeader: cfg.UserHeader, language: cfg.Language, system: cfg.IdentifierSystem,
		timeout: time.Duration(cfg.Timeout), plus: map[string]bool{}, groups: map[string]string{}}
	u, err := url.Parse(cfg.BaseURL)
	switch {
	case cfg.BaseURL == "":
		bad("base_url", "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad("base_url", "must be an http or https URL with a host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		bad("base_url", "must have no user info, query or fragment")
	default:
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				bad("base_url", "port %s is outside 1-65535", p)
			}
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		s.base = u
	}
	if strings.ContainsAny(string(cfg.APIKey), "\r\n") {
		bad("api_key", "contains a line break")
	}
	if cfg.ImmutablePeriod < 0 {
		bad("immutable_period", "is negative")
	}
	if cfg.Timeout < 0 {
		bad("timeout", "is negative")
	}
	if s.timeout == 0 {
		s.timeout = DefaultTimeout
	}
	if s.userHeader == "" {
		s.userHeader = DefaultUserHeader
	}
	if !validToken(s.userHeader) {
		bad("user_header", "is not an HTTP header name")
	}
	if s.language == "" {
		s.language = DefaultLanguage
	}
	if strings.ContainsAny(s.language, " \t\r\n") {
		bad("language", "must be a language code without spaces")
	}
	plus := cfg.PlusGroups
	if len(plus) == 0 {
		plus = DefaultPlusGroups
	}
	for i, g := range plus {
		if strings.TrimSpace(g) == "" {
			bad(fmt.Sprintf("plus_groups[%d]", i), "is empty")
		}
		s.plus[g] = true
	}
	for k, v := range DefaultGroups {
		s.groups[k] = v
	}
	keys := make([]string, 0, len(cfg.Groups))
	for k := range cfg.Groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := cfg.Groups[k]
		switch {
		case strings.TrimSpace(k) == "":
			bad("groups", "has an empty key")
		case k == "PractitionerRole":
			bad("groups."+k, `a PractitionerRole is mapped by its code; the key "Practitioner" covers a role without a mapped code`)
		case strings.TrimSpace(v) == "":
			bad("groups."+k, "maps to an empty group")
		default:
			s.groups[k] = v
		}
	}
	if len(errs) > 0 {
		return settings{}, fmt.Errorf("configuring bandyer: %w", errors.Join(errs...))
	}
	return s, nil
}

// validToken reports whether s is an HTTP token (RFC 9110), as a header
// name must be.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// groupOf returns the Bandyer group of a participant of FHIR type typ
// with the PractitionerRole codes codes: the first code the table maps,
// else the type's entry (a PractitionerRole falls back to
// "Practitioner"); "" when none.
func (s *settings) groupOf(typ string, codes []string) string {
	if typ == "PractitionerRole" {
		for _, c := range codes {
			if g, ok := s.groups[c]; ok && !groupKinds[c] {
				return g
			}
		}
		typ = "Practitioner"
	}
	return s.groups[typ]
}
