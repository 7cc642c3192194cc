// Package config is the typed, strict configuration of `fhirbridge serve`:
// a YAML file whose every key can be overridden by an environment variable
// FHIRBRIDGE_<PATH> (the key path upper-cased, levels joined by "__":
// connectors.solo.base_url → FHIRBRIDGE_CONNECTORS__SOLO__BASE_URL).
// Secrets are never written in the file: they name an environment variable
// or a file, and always print redacted.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// Config is the whole configuration. Zero values take the documented
// defaults (see Defaults).
type Config struct {
	// DataDir holds the embedded SQLite database and other state.
	DataDir string `yaml:"data_dir"`
	// Server is the FHIR endpoint.
	Server Server `yaml:"server"`
	// Database selects the store.
	Database Database `yaml:"database"`
	// Connectors configures each vendor connector by name.
	Connectors Connectors `yaml:"connectors"`
	// Routes choose which flows each incoming resource feeds.
	Routes []Route `yaml:"routes"`
	// Delivery tunes the delivery workers.
	Delivery Delivery `yaml:"delivery"`
	// Cluster tunes how serve replicas sharing one PostgreSQL store find
	// each other's deaths.
	Cluster Cluster `yaml:"cluster"`
	// Mail is the site's SMTP server, for notices (tuOtempO cancellations,
	// failed exports, files in error/).
	Mail *Mail `yaml:"mail"`
	// EHR is where updated resources are pushed back (optional).
	EHR *EHR `yaml:"ehr"`
	// Retention bounds the stored history (see retention.go).
	Retention Retention `yaml:"retention"`
	// HL7v2 receives HL7 v2 messages over MLLP and POST /hl7v2 (see
	// hl7v2.go).
	HL7v2 HL7v2 `yaml:"hl7v2"`
	// Console is the operator's web console (see console.go).
	Console Console `yaml:"console"`
	// Log is the format and level of serve's log (the --log-format and
	// --log-level flags win over it).
	Log Log `yaml:"log"`

	dir string // folder of the config file, for relative paths
}

// Log configures the log (see package logging).
type Log struct {
	// Format is text (default) or json: one JSON object per line.
	Format string `yaml:"format"`
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
}

// Server configures the HTTP endpoint.
type Server struct {
	// Listen is host:port (default 127.0.0.1:8080).
	Listen string `yaml:"listen"`
	// BodyLimit caps a request body in bytes, also after decompression
	// (default 10 MiB).
	BodyLimit int64 `yaml:"body_limit"`
	// Tokens are the accepted bearer tokens as "sha256:<hex>" (printed by
	// `fhirbridge token new`). With none, the server only listens on loopback.
	Tokens []string `yaml:"tokens" security:"true"`
	// TLS enables HTTPS, and mutual TLS with ClientCAFile.
	TLS TLS `yaml:"tls"`
	// MaxElements caps the JSON values of one body, a Bundle's entries
	// included (default 200000); MaxArray the items of one JSON array
	// (default 10000). Over either: 413.
	MaxElements int `yaml:"max_elements"`
	MaxArray    int `yaml:"max_array"`
	// MaxDecodes caps the bodies decoded and validated at once (default 2,
	// about 130 MB each at worst); a body that waits longer than
	// DecodeWait (default 2s) for a slot is answered 503 with Retry-After.
	MaxDecodes int      `yaml:"max_decodes"`
	DecodeWait Duration `yaml:"decode_wait"`
	// MetricsAuth puts /metrics behind the bearer tokens (default false,
	// for Prometheus scrapers without credentials).
	MetricsAuth bool `yaml:"metrics_auth"`
	// DrainTimeout bounds a graceful stop on SIGTERM or SIGINT (default
	// 30s, at most 1h): new connections are refused at once, and
	// requests and MLLP messages in hand get this long to finish before
	// their connections are closed.
	DrainTimeout Duration `yaml:"drain_timeout"`
}

// DefaultDrainTimeout is server.drain_timeout when absent or 0.
const DefaultDrainTimeout = 30 * time.Second

// MaxDrainTimeout is the largest server.drain_timeout accepted.
const MaxDrainTimeout = time.Hour

// Drain is the drain time serve allows on a graceful stop.
func (s Server) Drain() time.Duration {
	if s.DrainTimeout == 0 {
		return DefaultDrainTimeout
	}
	return time.Duration(s.DrainTimeout)
}

// TLS names the certificate files.
type TLS struct {
	CertFile     string `yaml:"cert_file" security:"true"`
	KeyFile      string `yaml:"key_file" security:"true"`
	ClientCAFile string `yaml:"client_ca_file" security:"true"`
}

// Database selects the store: empty or sqlite://PATH for the embedded
// SQLite file (default DATA_DIR/fhirbridge.db), postgres://… for PostgreSQL.
// A URL with a password is best given as a secret ({env: NAME},
// {file: PATH}); it prints redacted either way.
type Database struct {
	URL DatabaseURL `yaml:"url"`
}

// Connectors holds one section per vendor; absent means not configured.
type Connectors struct {
	// Modules holds the sections of the vendor modules that own their
	// config struct (bridge.ModuleInfo.Config), by name: each a pointer
	// to that struct.
	Modules map[string]any `yaml:"-"`
}

// Delivery tunes the delivery workers.
type Delivery struct {
	// StallAfter is how long a vendor may have due jobs with no successful
	// claim before /readyz answers not ready and fhirbridge_delivery_stalled
	// is 1 (default 5m; longer than the 2m attempt timeout).
	StallAfter Duration `yaml:"stall_after"`
	// Concurrency is the most jobs of one vendor in flight at once, all
	// replicas together (default 4), unless Vendors sets another.
	Concurrency int `yaml:"concurrency"`
	// Vendors sets limits per vendor (the connector's name: solo,
	// tuotempo, …), respected by all replicas together. File only.
	Vendors map[string]DeliveryVendor `yaml:"vendors"`
	// Flows sets limits per flow (a route's name, or a module's flow
	// such as solo/patient), all replicas together, within its vendor's
	// limits: a job is started only when both leave room. File only.
	Flows map[string]DeliveryFlow `yaml:"flows"`
}

// DeliveryVendor limits one vendor's deliveries.
type DeliveryVendor struct {
	// Concurrency is the most of its jobs in flight at once (0:
	// delivery.concurrency).
	Concurrency int `yaml:"concurrency"`
	// Rate bounds the attempts started, e.g. "10/s", "600/min" (absent:
	// no bound), with a bucket of Burst attempts (0: one second's worth
	// at Rate, at least 1).
	Rate  RateSetting `yaml:"rate"`
	Burst int         `yaml:"burst"`
}

// DeliveryFlow limits one flow's deliveries (at least one of
// Concurrency and Rate is set).
type DeliveryFlow struct {
	// Concurrency is the most of its jobs in flight at once (0: only
	// its vendor's limit).
	Concurrency int `yaml:"concurrency"`
	// Rate bounds the attempts of the flow started, e.g. "10/s",
	// "600/min" (absent: only its vendor's rate), with a bucket of Burst
	// attempts (0: one second's worth at Rate, at least 1), as a
	// vendor's.
	Rate  RateSetting `yaml:"rate"`
	Burst int         `yaml:"burst"`
}

// maxLimit bounds the concurrency and burst settings.
const maxLimit = 10000

// DeliveryOptions returns the delivery section as the runner's limits:
// the default concurrency, the vendors' limits and the flows'.
func (d Delivery) DeliveryOptions() (concurrency int, vendors, flows map[string]delivery.Limit) {
	vendors = map[string]delivery.Limit{}
	for name, v := range d.Vendors {
		vendors[name] = delivery.Limit{Concurrency: v.Concurrency, Rate: v.Rate.Rate, Burst: v.Burst}
	}
	flows = map[string]delivery.Limit{}
	for name, f := range d.Flows {
		flows[name] = delivery.Limit{Concurrency: f.Concurrency, Rate: f.Rate.Rate, Burst: f.Burst}
	}
	return d.Concurrency, vendors, flows
}

// validate checks the limits.
func (d Delivery) validate() []error {
	var errs []error
	if d.Concurrency < 1 || d.Concurrency > maxLimit {
		errs = append(errs, fmt.Errorf("delivery.concurrency %d: must be from 1 to %d", d.Concurrency, maxLimit))
	}
	for _, name := range sortedNames(d.Vendors) {
		v := d.Vendors[name]
		if v.Concurrency < 0 || v.Concurrency > maxLimit || v.Burst < 0 || v.Burst > maxLimit {
			errs = append(errs, fmt.Errorf("delivery.vendors.%s: concurrency and burst must be from 0 (the default) to %d", name, maxLimit))
		}
		if err := v.Rate.check(); err != nil {
			errs = append(errs, fmt.Errorf("delivery.vendors.%s.rate: %w", name, err))
		} else if v.Burst > 0 && v.Rate.N == 0 {
			errs = append(errs, fmt.Errorf("delivery.vendors.%s: burst without a rate", name))
		}
	}
	for _, name := range sortedNames(d.Flows) {
		f := d.Flows[name]
		switch {
		case f.Rate.check() != nil:
			errs = append(errs, fmt.Errorf("delivery.flows.%s.rate: %w", name, f.Rate.check()))
		case f.Concurrency < 0 || f.Concurrency > maxLimit || f.Burst < 0 || f.Burst > maxLimit:
			errs = append(errs, fmt.Errorf("delivery.flows.%s: concurrency and burst must be from 0 (the default) to %d", name, maxLimit))
		case f.Burst > 0 && f.Rate.N == 0:
			errs = append(errs, fmt.Errorf("delivery.flows.%s: burst without a rate", name))
		case f.Concurrency == 0 && f.Rate.N == 0:
			errs = append(errs, fmt.Errorf("delivery.flows.%s: sets no limit: give a concurrency from 1 to %d, a rate, or both", name, maxLimit))
		}
	}
	return errs
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Cluster tunes the membership of this process among the processes
// sharing the store (serve replicas on one PostgreSQL; on SQLite there is
// one). Each process beats a heartbeat into the store; one whose heartbeat
// is older than DeadAfter counts as dead, and its in-flight deliveries,
// leases (export slots, inbound files) and singleton pollers are taken
// over by the others.
type Cluster struct {
	// Heartbeat is how often a process records that it is alive (default
	// 2s).
	Heartbeat Duration `yaml:"heartbeat"`
	// DeadAfter is how long a silent process is waited for before its
	// work is taken over (default 10s; at least three heartbeats). Keep
	// the replicas' clocks in sync (NTP) well within it.
	DeadAfter Duration `yaml:"dead_after"`
}

// Route feeds resources of one type, optionally filtered by a FHIRPath
// condition, through a mapping to a connector.
type Route struct {
	Name      string            `yaml:"name"`
	Resource  string            `yaml:"resource"`
	When      string            `yaml:"when"`
	Mapping   string            `yaml:"mapping"`
	Connector string            `yaml:"connector"`
	Params    map[string]string `yaml:"params"`
	// ReferenceWait, when set, accepts a resource whose parent (the
	// Patient of an Appointment, say) is not stored yet and waits this
	// long for it before dead-lettering the job; unset, such a resource is
	// refused with 422 naming the reference.
	ReferenceWait Duration `yaml:"reference_wait"`
}

// Duration is a time.Duration written as "30s", "5m": the one duration
// type of the configuration, shared with the vendor modules' sections.
type Duration = connectors.Duration

// Defaults are the values used when the file or the environment give none.
var Defaults = Config{
	DataDir: "fhirbridge-data",
	Server:  Server{Listen: "127.0.0.1:8080", BodyLimit: 10 << 20},
}

// Load reads path (or only the defaults and the environment when path is
// ""), applies FHIRBRIDGE_* overrides from env, fills defaults and
// validates. YAML errors carry the file's line and column.
func Load(path string, env []string) (*Config, error) {
	var c Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading config: %w", err)
		}
		if err := decode(data, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.dir = filepath.Dir(path)
	}
	if err := applyEnv(&c, env); err != nil {
		return nil, err
	}
	c.fillDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) fillDefaults() {
	if c.DataDir == "" {
		c.DataDir = Defaults.DataDir
	}
	if c.Server.Listen == "" {
		c.Server.Listen = Defaults.Server.Listen
	}
	if c.Server.BodyLimit == 0 {
		c.Server.BodyLimit = Defaults.Server.BodyLimit
	}
	if c.Delivery.StallAfter == 0 {
		c.Delivery.StallAfter = Duration(5 * time.Minute)
	}
	if c.Delivery.Concurrency == 0 {
		c.Delivery.Concurrency = 4
	}
	if c.Cluster.Heartbeat == 0 {
		c.Cluster.Heartbeat = Duration(2 * time.Second)
	}
	if c.Cluster.DeadAfter == 0 {
		c.Cluster.DeadAfter = Duration(10 * time.Second)
	}
	if !c.Database.URL.Set() {
		c.Database.URL = DatabaseURL{Secret{value: "sqlite://" + filepath.Join(c.DataDir, "fhirbridge.db"), source: "default"}}
	}
	c.fillHL7v2Defaults()
	c.fillConsoleDefaults()
	if m := c.Mail; m != nil && m.Timeout == 0 {
		m.Timeout = Duration(30 * time.Second)
	}
}

// Dir is the folder of the config file ("" without one): relative paths
// in the config (mapping files) are resolved against it.
func (c *Config) Dir() string { return c.dir }

// Validate checks what can be checked without the mappings and
// connectors: addresses, the loopback rule, URLs, token format, routes,
// and each module section that checks itself (bridge.SectionChecker,
// which also fills its defaults).
func (c *Config) Validate() error {
	var errs []error
	if _, err := logging.ParseFormat(c.Log.Format); err != nil {
		errs = append(errs, fmt.Errorf("log.format: %w", err))
	}
	if _, err := logging.ParseLevel(c.Log.Level); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %w", err))
	}
	host, port, err := net.SplitHostPort(c.Server.Listen)
	if err != nil {
		errs = append(errs, fmt.Errorf("server.listen %q: want host:port", c.Server.Listen))
	} else if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Errorf("server.listen %q: port %q is not 1-65535 (or 0: any free port)", c.Server.Listen, port))
	} else if len(c.Server.Tokens) == 0 && !isLoopback(host) {
		errs = append(errs, fmt.Errorf("server.listen %q: with no server.tokens the server only listens on loopback (127.0.0.1, ::1, localhost); add a token (fhirbridge token new) to listen elsewhere", c.Server.Listen))
	}
	if c.Server.BodyLimit < 1024 {
		errs = append(errs, fmt.Errorf("server.body_limit %d: at least 1024 bytes", c.Server.BodyLimit))
	}
	for _, f := range []struct {
		key string
		n   int64
	}{{"max_elements", int64(c.Server.MaxElements)}, {"max_array", int64(c.Server.MaxArray)},
		{"max_decodes", int64(c.Server.MaxDecodes)}, {"decode_wait", int64(c.Server.DecodeWait)}} {
		if f.n < 0 {
			errs = append(errs, fmt.Errorf("server.%s: must not be negative (0 or absent: the default)", f.key))
		}
	}
	if c.Server.DrainTimeout < 0 || time.Duration(c.Server.DrainTimeout) > MaxDrainTimeout {
		errs = append(errs, fmt.Errorf("server.drain_timeout %s: want 0 (the default, 30s) up to %s", time.Duration(c.Server.DrainTimeout), MaxDrainTimeout))
	}
	for i, t := range c.Server.Tokens {
		if h, ok := strings.CutPrefix(t, "sha256:"); !ok || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			errs = append(errs, fmt.Errorf("server.tokens[%d]: want sha256:<64 hex digits> as printed by fhirbridge token new", i))
		}
	}
	if (c.Server.TLS.CertFile == "") != (c.Server.TLS.KeyFile == "") {
		errs = append(errs, errors.New("server.tls: cert_file and key_file go together"))
	}
	if c.Server.TLS.ClientCAFile != "" && c.Server.TLS.CertFile == "" {
		errs = append(errs, errors.New("server.tls.client_ca_file (mutual TLS) needs cert_file and key_file"))
	}
	errs = append(errs, c.validateDatabase()...)
	errs = append(errs, c.validateAddresses()...)
	for _, name := range c.moduleNames() {
		if sc, ok := c.Connectors.Modules[name].(bridge.SectionChecker); ok {
			if err := sc.CheckSection(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, c.validateMailEHR()...)
	errs = append(errs, c.validateRetention()...)
	errs = append(errs, c.validateHL7v2()...)
	errs = append(errs, c.validateConsole()...)
	if c.Delivery.StallAfter <= Duration(2*time.Minute) {
		errs = append(errs, fmt.Errorf("delivery.stall_after %s: must be longer than the 2m delivery attempt timeout", time.Duration(c.Delivery.StallAfter)))
	}
	errs = append(errs, c.Delivery.validate()...)
	if c.Cluster.Heartbeat < Duration(100*time.Millisecond) || c.Cluster.DeadAfter < 3*c.Cluster.Heartbeat {
		errs = append(errs, fmt.Errorf("cluster: heartbeat %s must be at least 100ms and dead_after %s at least three heartbeats",
			time.Duration(c.Cluster.Heartbeat), time.Duration(c.Cluster.DeadAfter)))
	}
	names := map[string]bool{}
	for i, r := range c.Routes {
		switch {
		case r.Name == "" || r.Resource == "" || r.Mapping == "" || r.Connector == "":
			errs = append(errs, fmt.Errorf("routes[%d]: name, resource, mapping and connector are required", i))
		case names[r.Name]:
			errs = append(errs, fmt.Errorf("routes[%d]: duplicate name %q", i, r.Name))
		case r.ReferenceWait < 0:
			errs = append(errs, fmt.Errorf("routes[%d] (%s): reference_wait must not be negative", i, r.Name))
		}
		names[r.Name] = true
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// decode reads the YAML strictly into c. The YAML library panics on some
// malformed input (a tag on a scalar where a list belongs, found by
// FuzzConfig); that is reported as an unreadable file, not a crash.
func decode(data []byte, c *Config) (err error) {
	defer func() {
		if recover() != nil {
			err = errors.New("the file is not YAML this configuration can read (check tags, anchors and list syntax)")
		}
	}()
	if err := yaml.UnmarshalWithOptions(data, c, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		// the quoted source lines may hold a database URL's password
		return errors.New(RedactPasswords(yaml.FormatError(err, false, true)))
	}
	return errors.Join(emptyInFile(data)...)
}

// ConnectorSection returns the section connectors.<name> (a pointer to its
// typed struct), or nil when it is absent or no section has that key.
func (c *Config) ConnectorSection(name string) any {
	if cfg, ok := c.Connectors.Modules[name]; ok {
		return cfg
	}
	v := reflect.ValueOf(&c.Connectors).Elem()
	for i := range v.NumField() {
		tag, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if tag != name {
			continue
		}
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			return f.Interface()
		}
		return nil
	}
	return nil
}

// moduleNames lists the names of the module sections present, sorted.
func (c *Config) moduleNames() []string {
	names := make([]string, 0, len(c.Connectors.Modules))
	for name := range c.Connectors.Modules {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// ConfiguredRoutes lists the routes as written, in order (a part of
// bridge.Root).
func (c *Config) ConfiguredRoutes() []bridge.ConfiguredRoute {
	out := make([]bridge.ConfiguredRoute, len(c.Routes))
	for i, r := range c.Routes {
		out[i] = bridge.ConfiguredRoute{Index: i, Name: r.Name, Resource: r.Resource, Mapping: r.Mapping, Connector: r.Connector, Params: r.Params}
	}
	return out
}
