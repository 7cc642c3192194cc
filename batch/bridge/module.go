// Package bridge composes fhirbridge from vendor modules. A vendor
// registers itself once with RegisterModule (from an init function, in the
// manner of Caddy's caddy.RegisterModule): its name (the key of its config
// section under connectors, and what routes name as their connector) and a
// constructor. The runtime builds one instance per configured vendor and
// discovers what it can do through small optional interfaces:
//
//   - RouteWirer: the connector and intake checks of the routes naming it;
//   - ConnectionChecker: the connection tests of `check --connect`;
//   - ConfigChecker: checks of its own section that `check --config` runs;
//   - TypeProvider: FHIR resource types the endpoint must take for it;
//   - FileReprocessor: its inbound files, for `files reprocess`;
//   - ServeExtender: handlers, FHIR searches and background work of serve.
//
// Nothing outside a vendor's module switches on the vendor's name: serve,
// check and check --connect walk the registry.
package bridge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// ModuleInfo registers a vendor module.
type ModuleInfo struct {
	// Name is the vendor's stable name: its config section
	// (connectors.<Name>), the connector routes name, the label of its
	// metrics. Lower case letters and digits.
	Name string
	// Summary is one line for --help and listings.
	Summary string
	// CheckHelp says, for check --help, what the module's connection
	// tests try and what its follow-up checks report (lines of at most
	// 60 characters; the first one follows the module's name).
	CheckHelp string
	// Config, when set, returns a new zero value of the module's own
	// config struct (a pointer): the application decodes connectors.<Name>
	// into it strictly (an unknown key is an error with its line and
	// column), applies FHIRBRIDGE_CONNECTORS__<NAME>__… overrides by the
	// struct's yaml tags, refuses empty security values (connectors.Secret
	// fields, fields tagged security:"true"), and hands it to New. Each
	// field is documented on the struct. Unset: the application decodes
	// the section itself.
	Config func() any
	// Sandbox, when set, is the vendor's simulator as a command:
	// `fhirbridge sandbox <Name>` (in the manner of Caddy's
	// caddycmd.RegisterCommand). It runs without a configuration.
	Sandbox func() *cobra.Command
	// Commands, when set, are the vendor's own subcommands, under
	// `fhirbridge <Name>` (whose one-line help is CommandsSummary). They
	// read the configuration through LoadCommandConfig.
	Commands func() []*cobra.Command
	// CommandsSummary is the one-line help of `fhirbridge <Name>`
	// (default: Summary).
	CommandsSummary string
	// Subcommands, when set, are the vendor's commands under the
	// application's shared parent commands, keyed by the parent's name:
	// "import" (`fhirbridge import <command>`: vendor reports into FHIR)
	// and "export" (`fhirbridge export <command>`: a vendor export run
	// now). Like Commands they read the configuration through
	// LoadCommandConfig; a command that ends with an exit status other
	// than 2 returns ExitError. A key naming no parent is a programming
	// error: the application panics when it builds its commands.
	Subcommands map[string]func() []*cobra.Command
	// Sample, when set, gives what the module conformance suite needs.
	Sample func() Sample
	// Demo, when set, is the module's part in `fhirbridge demo` (see
	// Demo): its stand-in for the vendor, config section, routes and
	// steps. The demo command names no vendor: it runs every module that
	// gives one.
	Demo func() Demo
	// New builds the module's instance from its configuration. cfg is the
	// vendor's config section as decoded by the application (never nil:
	// New is called only for a configured vendor); root is the whole
	// application configuration, for the shared sections a vendor uses
	// (mail, the EHR, the data folder). New checks what it can without
	// the network and returns errors that name config keys.
	New func(cfg, root any) (Module, error)
}

// Module is a configured vendor's instance. It implements any of the
// ability interfaces of this package.
type Module any

var (
	mu      sync.RWMutex
	modules = map[string]ModuleInfo{}
)

// RegisterModule makes a vendor module known. Vendor packages call it from
// init; an empty or malformed name, a nil constructor or a name registered
// twice is a programming error and panics.
func RegisterModule(m ModuleInfo) {
	mu.Lock()
	defer mu.Unlock()
	if m.Name == "" || strings.Trim(m.Name, "abcdefghijklmnopqrstuvwxyz0123456789") != "" || m.New == nil {
		panic(fmt.Sprintf("bridge: RegisterModule(%q) needs a lower-case name and a constructor", m.Name))
	}
	if _, dup := modules[m.Name]; dup {
		panic("bridge: module " + m.Name + " registered twice")
	}
	modules[m.Name] = m
}

// Modules lists the registered modules by name.
func Modules() []ModuleInfo {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]ModuleInfo, 0, len(modules))
	for _, m := range modules {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the registered module names, sorted.
func Names() []string {
	var out []string
	for _, m := range Modules() {
		out = append(out, m.Name)
	}
	return out
}

// Lookup returns the module registered under name, or an error naming
// the known ones.
func Lookup(name string) (ModuleInfo, error) {
	mu.RLock()
	m, ok := modules[name]
	mu.RUnlock()
	if !ok {
		return ModuleInfo{}, fmt.Errorf("unknown connector %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return m, nil
}

// ConnectorCheck turns a connector into a connection test when it
// implements connectors.Checker, using its Probe (a description of what
// it saw) when it has one; false otherwise.
func ConnectorCheck(name, target string, conn any) (Check, bool) {
	c := Check{Name: name, Target: target}
	switch x := conn.(type) {
	case interface {
		Probe(ctx context.Context) (string, error)
	}:
		c.Run = x.Probe
	case connectors.Checker:
		c.Run = func(ctx context.Context) (string, error) { return "", x.Check(ctx) }
	default:
		return c, false
	}
	return c, true
}

// Route is what a module is told of a route that names it.
type Route struct {
	// Name and Resource are the route's name and resource type.
	Name, Resource string
	// Mapping is the route's compiled mapping.
	Mapping *mapping.Mapping
	// Params are the route's params (e.g. tenant).
	Params map[string]string
}

// Wiring is how a module delivers a route's jobs.
type Wiring struct {
	// Connector delivers the mapped records.
	Connector connectors.Connector
	// Parent is the FHIR type whose vendor id a record is delivered under
	// (an Appointment under its Patient's); "" for none.
	Parent string
	// Parents are further FHIR types a record waits for (a visit's
	// Practitioner and Location).
	Parents []string
	// Check refuses a resource at intake (422) that the vendor could
	// never take; nil for none.
	Check func(*fhir.Value) error
}

// RouteWirer is a module that takes routes.
type RouteWirer interface {
	WireRoute(r Route) (Wiring, error)
}

// Check is one connection test of `check --connect`.
type Check struct {
	// Name is what is tried ("solo", "sftp", "tyto"); Target says where
	// ("main https://portal.example"), "" when Name says it.
	Name, Target string
	// Run tries the connection and describes what it saw on success. Its
	// error reads as the reason, without the target, and shows no secret.
	Run func(ctx context.Context) (string, error)
	// After, when set, runs once Run succeeded (follow-up checks that
	// print their own lines to out); its error fails the command.
	After func(ctx context.Context, out io.Writer) error
}

// ConnectionChecker is a module with connection tests.
type ConnectionChecker interface {
	ConnectionChecks() ([]Check, error)
}

// ConfigChecker is a module whose section holds more than New checks
// (export jobs, reverse mappings): CheckConfig reports every problem, each
// naming its config key. It opens nothing on the network.
type ConfigChecker interface {
	CheckConfig() error
}

// FileReprocessor is a module that reads inbound files (the ledger's
// direction in): `fhirbridge files reprocess` re-runs one of them through
// the module whose job it is.
type FileReprocessor interface {
	// InboundJobs names the module's inbound file jobs, in config order.
	InboundJobs() []string
	// Reprocess reads file again (a path as the ledger shows it) for the
	// inbound job named job ("" when the module has one), applies its
	// rows even though the ledger has it, records a new ledger entry and
	// prints what it did to out. router receives the resources it
	// changes, as serve's routes would.
	Reprocess(ctx context.Context, out io.Writer, st *store.Store, router inbound.Router, job, file string) error
}

// TypeProvider is a module whose flows take FHIR resource types beyond
// the endpoint's defaults.
type TypeProvider interface {
	FHIRTypes() []string
}

// FlowProvider is a module with delivery flows of its own beyond its
// routes': worker flows (delivery.Flow.Work) whose jobs it enqueues itself,
// such as received webhook events. The runtime adds them to the delivery
// runner under the names given, which no route may take.
type FlowProvider interface {
	Flows() (map[string]delivery.Flow, error)
}

// ObserverProvider is a module that keeps its own projection of stored
// resources (an index of free Slots, rows of a published view): its
// observers are added to the router that every path storing resources
// goes through (serve's endpoint, re-processed files, imports), so the
// projection changes in the same transaction as the resources.
type ObserverProvider interface {
	Observers() []delivery.Observer
}

// ServeEnv is what a serving module gets: the store, the delivery router,
// the log and metrics registry, the FHIR endpoint's options (to add
// searches to before the endpoint is built), a way to mount handlers
// beside /fhir and a way to run background work.
type ServeEnv struct {
	Store    *store.Store
	Router   *delivery.Router
	Log      *slog.Logger
	Registry *prometheus.Registry
	// Server are the FHIR endpoint's options, built after every module ran.
	Server *server.Options
	// Node is this process's membership of the cluster of processes
	// sharing the store: leases for work that must run once (an export
	// slot, an inbound file). Nil in tests that build a ServeEnv by hand.
	Node *cluster.Node

	// HandleFunc mounts a handler; GoFunc runs background work. Set by
	// the runtime.
	HandleFunc func(pattern string, h http.Handler)
	GoFunc     func(fn func(ctx context.Context))
}

// Handle mounts h at pattern (a net/http ServeMux pattern such as
// "POST /solo/webhooks/{token}") beside the FHIR endpoint, which keeps "/".
// Such handlers do their own authentication.
func (e *ServeEnv) Handle(pattern string, h http.Handler) { e.HandleFunc(pattern, h) }

// Go runs fn in the background from the moment serve listens; its context
// ends when serve stops, and serve waits for fn to return.
func (e *ServeEnv) Go(fn func(ctx context.Context)) { e.GoFunc(fn) }

// GoSingleton runs fn in the background like Go, but on one process of
// the cluster at a time (see cluster.Node.Singleton): a poller over
// shared state, which every replica starting it would run N times. The
// work moves to another replica within the cluster's dead_after when its
// holder dies. name identifies the work across replicas ("solo/status").
func (e *ServeEnv) GoSingleton(name string, fn func(ctx context.Context)) {
	if e.Node == nil {
		e.GoFunc(fn)
		return
	}
	e.GoFunc(e.Node.Singleton(name, fn))
}

// ServeExtender is a module that adds to serve (webhook receivers, FHIR
// searches answered by the vendor, pollers). It returns an error for a
// configuration it cannot run.
type ServeExtender interface {
	Serve(ctx context.Context, env *ServeEnv) error
}

// Sample is what the module conformance suite runs a module with (every
// registered module gives one): its simulator, a config section pointing
// at it, and a Bundle that sample routes deliver.
type Sample struct {
	// Simulator starts the vendor's simulator on a free loopback port.
	Simulator func() (*SimulatorRun, error)
	// Section is the module's config section, the YAML under
	// connectors.<Name> (keys at column 1), with $URL standing for the
	// simulator's URL (and each of SimulatorRun.Vars for its value); its
	// secrets are {env: NAME} of Env's names.
	Section string
	// Env are the variables Section reads, with credentials the
	// simulator accepts; WrongEnv the same with credentials it refuses.
	Env, WrongEnv map[string]string
	// Refused is what `check --connect` prints with WrongEnv, in the
	// vendor's own words.
	Refused string
	// CheckName is the name of the module's `check --connect` line when
	// it is not Name (tuOtempO's line is named after its remote's kind,
	// "sftp"); "" is Name.
	CheckName string
	// Routes is the YAML list of routes (the items under routes:, at
	// column 1) that deliver Bundle; "" for a module that takes no routes
	// (it delivers what serve stored, see Export).
	Routes string
	// Bundle is a transaction Bundle for Routes.
	Bundle string
	// Delivered are the resources ("Type/id") of Bundle that reach the
	// vendor and get its id back as an identifier whose system is
	// urn:fhirbridge:<Name>:<IDName>.
	Delivered []string
	// IDName names that identifier ("" is "id"; connectors.Result.IDName).
	IDName string
	// Export, for a module that delivers in batches on a schedule rather
	// than each resource as it is stored (a file export: the vendor's ids
	// never come back onto the stored resources, so Delivered is empty),
	// is the fhirbridge command line that runs that delivery once now;
	// the suite appends --config FILE (serve's configuration) and runs it
	// while serve holds the stored Bundle.
	Export []string
	// Exported are the resources ("Type/id") of Bundle that Export
	// delivers: the suite waits until the simulator holds each
	// (SimulatorRun.Holds).
	Exported []string
}

// SimulatorRun is a running simulator.
type SimulatorRun struct {
	// URL is its base URL.
	URL string
	// Vars are further placeholders of Sample.Section and their values
	// ("$PORT", "$FINGERPRINT"), for a simulator that a URL does not
	// describe; nil for none.
	Vars map[string]string
	// Calls counts the calls it answered that change a record (for a
	// file server: the files it holds), so a test can see that a re-post
	// changed nothing.
	Calls func() int
	// Holds, for a sample with Export, reports whether the vendor's side
	// holds the record of the resource ref ("Type/id"), e.g. a row of an
	// exported file.
	Holds func(ref string) bool
	// Stop stops it.
	Stop func()
}
