// Package tyto delivers clinicians, stations, device pairings and visits to
// TytoCare through the TytoCare REST APIs of a Vidyo portal
// (vendor-docs/tytocare-vidyo-integration.txt).
//
// Flows served (the mapping names):
//
//	tyto/clinician  Practitioner → PUT  {clinician}       create or update by identifier
//	tyto/station    Location     → POST {station_create}  create; an update GETs {station} and creates it again when gone
//	tyto/device     Device       → POST {device_pair}     pair with the station of Device.location
//	tyto/visit      Encounter    → POST {visit_create}    after its clinician and station (Flow.Parents)
//
// Only GET https://{portal}/api/extintegration/tyto/v1/stations/{identifier}
// is spelled out in the spec. The other paths are assumptions on the same
// pattern (DefaultPaths), configurable per tenant, to confirm with the
// vendor. Authentication is HTTP Basic with the tenant's user name and
// password (also an assumption: the spec names the credentials, not the
// scheme).
//
// The vendor id of a clinician, station or device is its identifier (the
// one sent, which the bridge derives from the FHIR id or an identifier
// system, see IdentifierOf); a visit's is the id the portal answers, or its
// identifier when the answer has none. The visit's "status" and
// "identifier" come back as Result.Attributes (on the Encounter as
// extensions urn:fhirbridge:tyto:status and urn:fhirbridge:tyto:identifier).
//
// A visit or pairing body may carry "dependencies": {"clinician": {…},
// "station": {…}} — the records of the Practitioner and Location it needs
// (mapped by the shipped mappings). They are never sent with the visit:
// when the portal answers 404 for a station or clinician that the
// crosswalk says exists, the connector creates them again from these
// records and retries once; without them, or when that fails, the delivery
// is dead-lettered with the reason.
//
// Every call is logged (flow, our resource id, tenant, method, path
// template, status; never a value) on the logger the delivery runner hands
// over (SetCallLogger), as the spec's troubleshooting asks.
package tyto

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Name is the registry name of the connector.
const Name = "tyto"

func init() {
	connectors.Register(connectors.Factory{
		Name:    Name,
		Summary: "TytoCare REST APIs of a Vidyo portal: clinicians, stations, device pairing, visits",
		New:     connectors.Typed(Name, New),
	})
}

// Secret is a credential that prints redacted (see connectors.Secret).
type Secret = connectors.Secret

// DefaultTimeout bounds one HTTP exchange when Config.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Paths are the API paths of a portal, relative to its URL. {identifier}
// is replaced by the path-escaped identifier.
type Paths struct {
	// StationCreate creates a station (POST).
	StationCreate string `json:"station_create" yaml:"station_create"`
	// Station retrieves a station (GET) — the one path the spec gives.
	Station string `json:"station" yaml:"station"`
	// DevicePair pairs a Tyto device with the station {identifier} (POST).
	DevicePair string `json:"device_pair" yaml:"device_pair"`
	// Clinician creates or updates a clinician (PUT).
	Clinician string `json:"clinician" yaml:"clinician"`
	// VisitCreate creates a visit (POST).
	VisitCreate string `json:"visit_create" yaml:"visit_create"`
}

// DefaultPaths are the paths used for every one a tenant leaves empty.
// Only Station is from the spec; the others are assumptions.
var DefaultPaths = Paths{
	StationCreate: "/api/extintegration/tyto/v1/stations",
	Station:       "/api/extintegration/tyto/v1/stations/{identifier}",
	DevicePair:    "/api/extintegration/tyto/v1/stations/{identifier}/devices",
	Clinician:     "/api/extintegration/tyto/v1/clinicians/{identifier}",
	VisitCreate:   "/api/extintegration/tyto/v1/visits",
}

// Tenant is one Vidyo portal tenant with TytoCare enabled.
type Tenant struct {
	// PortalURL is the portal's base URL, e.g. https://portal.example.com;
	// http or https, no query or fragment.
	PortalURL string `json:"portal_url" yaml:"portal_url"`
	// Username and Password authenticate (HTTP Basic). Password prints
	// redacted.
	Username string `json:"username" yaml:"username"`
	Password Secret `json:"password" yaml:"password"`
	// Paths override DefaultPaths member by member.
	Paths Paths `json:"paths" yaml:"paths"`
}

// Config configures the connector.
type Config struct {
	// Tenants by name; at least one.
	Tenants map[string]Tenant `json:"tenants" yaml:"tenants"`
	// DefaultTenant is used by a route that names none; "" is allowed
	// only with a single tenant, which is then the default.
	DefaultTenant string `json:"default_tenant" yaml:"default_tenant"`
	// Timeout bounds one HTTP exchange; 0 means DefaultTimeout.
	Timeout connectors.Duration `json:"timeout" yaml:"timeout"`
}

// Connector is the Tyto connector: a set of tenants. As a
// connectors.Connector it delivers to the default tenant; ForTenant gives
// one bound to another. It is safe for concurrent use.
type Connector struct {
	tenants map[string]*TenantConnector
	def     string
	log     atomic.Pointer[slog.Logger]
}

// TenantConnector delivers to one tenant. It is safe for concurrent use.
type TenantConnector struct {
	name   string
	base   *url.URL
	user   string
	pass   Secret
	paths  Paths
	client *http.Client
	root   *Connector
}

var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Checker   = (*Connector)(nil)
	_ connectors.Connector = (*TenantConnector)(nil)
	_ connectors.Checker   = (*TenantConnector)(nil)
)

// New validates cfg and returns a connector. Errors name the tenant and
// field at fault, never a credential.
func New(cfg Config) (*Connector, error) {
	if len(cfg.Tenants) == 0 {
		return nil, errors.New("configuring tyto: no tenants")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("configuring tyto: timeout is negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = connectors.Duration(DefaultTimeout)
	}
	c := &Connector{tenants: map[string]*TenantConnector{}, def: cfg.DefaultTenant}
	if c.def == "" {
		if len(cfg.Tenants) != 1 {
			return nil, errors.New("configuring tyto: default_tenant is required with several tenants")
		}
		for name := range cfg.Tenants {
			c.def = name
		}
	}
	if _, ok := cfg.Tenants[c.def]; !ok {
		return nil, fmt.Errorf("configuring tyto: default_tenant %q is not among the tenants", c.def)
	}
	for name, t := range cfg.Tenants {
		tc, err := newTenant(name, t, time.Duration(cfg.Timeout))
		if err != nil {
			return nil, err
		}
		tc.root = c
		c.tenants[name] = tc
	}
	c.log.Store(slog.New(slog.DiscardHandler))
	return c, nil
}

func newTenant(name string, t Tenant, timeout time.Duration) (*TenantConnector, error) {
	where := "configuring tyto tenant " + name
	u, err := url.Parse(t.PortalURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errors.New(where + ": portal_url must be an http or https URL")
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New(where + ": portal_url needs a host and no user info, query or fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%s: portal_url port %s is outside 1-65535", where, port)
		}
	}
	if t.Username == "" || t.Password == "" {
		return nil, errors.New(where + ": username and password are required")
	}
	if strings.ContainsAny(t.Username+string(t.Password), "\r\n") || strings.Contains(t.Username, ":") {
		return nil, errors.New(where + ": username or password contains a line break (or the username a colon)")
	}
	p := t.Paths
	for _, f := range []struct {
		v    *string
		def  string
		name string
		id   bool
	}{
		{&p.StationCreate, DefaultPaths.StationCreate, "station_create", false},
		{&p.Station, DefaultPaths.Station, "station", true},
		{&p.DevicePair, DefaultPaths.DevicePair, "device_pair", true},
		{&p.Clinician, DefaultPaths.Clinician, "clinician", true},
		{&p.VisitCreate, DefaultPaths.VisitCreate, "visit_create", false},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
		want := 0 // placeholders: {identifier} once where an identifier goes, no other brace
		if f.id {
			want = 1
		}
		if !strings.HasPrefix(*f.v, "/") || strings.Count(*f.v, "{identifier}") != want ||
			strings.Count(*f.v, "{") != want || strings.Count(*f.v, "}") != want {
			return nil, fmt.Errorf("%s: paths.%s must start with / and %s", where, f.name,
				map[bool]string{true: "contain {identifier} once and no other brace", false: "contain no brace"}[f.id])
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return &TenantConnector{name: name, base: u, user: t.Username, pass: t.Password, paths: p,
		client: &http.Client{Timeout: timeout, Transport: connectors.Transport(nil),
			// a redirected POST could be replayed elsewhere: report it instead
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// ForTenant returns the connector bound to tenant name; "" is the default.
func (c *Connector) ForTenant(name string) (*TenantConnector, error) {
	if name == "" {
		name = c.def
	}
	t, ok := c.tenants[name]
	if !ok {
		return nil, fmt.Errorf("tyto: no tenant %q (known: %s)", name, strings.Join(c.TenantNames(), ", "))
	}
	return t, nil
}

// TenantNames lists the tenants, sorted.
func (c *Connector) TenantNames() []string {
	out := make([]string, 0, len(c.tenants))
	for n := range c.tenants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetCallLogger sets where every vendor call is logged (delivery.CallLogger);
// nil discards.
func (c *Connector) SetCallLogger(l *slog.Logger) {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	c.log.Store(l)
}

// SetCallLogger sets the logger of the connector the tenant belongs to.
func (t *TenantConnector) SetCallLogger(l *slog.Logger) { t.root.SetCallLogger(l) }

// Format prints the connector as its tenants only, never a credential.
func (c *Connector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "tyto.Connector{tenants: %s}", strings.Join(c.TenantNames(), ", "))
}

// Format prints the tenant connector as its name and portal URL only.
func (t TenantConnector) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "tyto.TenantConnector{%s %s}", t.name, t.base.Redacted())
}
