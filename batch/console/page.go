package console

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Page is one page (or group of routes) of the console, registered by a
// page package from its init function with RegisterPage.
type Page struct {
	// Name is unique among pages, e.g. "deliveries".
	Name string
	// Title is the navigation label; "" keeps the page out of the
	// navigation.
	Title string
	// Order places the page in the navigation (smaller first).
	Order int
	// Role is the least role that sees the page in the navigation and
	// opens it.
	Role Role
	// Mount registers the page's routes on m.
	Mount func(m *Mux, d *Deps)
	// Path is the navigation link; "" means /console/<Name>.
	Path string
}

// link is the page's navigation link.
func (p Page) link() string {
	if p.Path != "" {
		return p.Path
	}
	return "/console/" + p.Name
}

var (
	pagesMu sync.Mutex
	pages   = map[string]Page{}
)

// RegisterPage adds a page to every console built afterwards. It is meant
// to be called from the page package's init function and panics on a
// duplicate or empty name, a missing Mount or an unknown role: those are
// programming errors every test reveals.
func RegisterPage(p Page) {
	pagesMu.Lock()
	defer pagesMu.Unlock()
	switch {
	case p.Name == "" || strings.ContainsAny(p.Name, "/ "):
		panic(fmt.Sprintf("console.RegisterPage: page name %q: want a non-empty name without '/' or spaces", p.Name))
	case p.Mount == nil:
		panic(fmt.Sprintf("console.RegisterPage %q: no Mount function", p.Name))
	case roleNames[p.Role] == "":
		panic(fmt.Sprintf("console.RegisterPage %q: role %d is not one of RoleViewer…RoleAdmin", p.Name, int(p.Role)))
	}
	if _, dup := pages[p.Name]; dup {
		panic(fmt.Sprintf("console.RegisterPage: page %q registered twice", p.Name))
	}
	pages[p.Name] = p
}

// registeredPages lists the pages by Order, then Name.
func registeredPages() []Page {
	pagesMu.Lock()
	defer pagesMu.Unlock()
	out := make([]Page, 0, len(pages))
	for _, p := range pages {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Deps is what page handlers may use.
type Deps struct {
	// Store is the bridge's store.
	Store *store.Store
	// Config is the loaded configuration (never nil).
	Config *config.Config
	// Logger logs without patient data.
	Logger *slog.Logger
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
	// Ops is serve's delivery runner, vendor modules and router, for the
	// operations pages (batch/console/ops); its fields are nil outside
	// serve, and those pages then show what the store alone tells.
	Ops Ops
}

// Ops is what the operations pages act through beside the store.
type Ops struct {
	// Runner is the delivery runner (circuit and stall states).
	Runner *delivery.Runner
	// Modules are the configured vendor modules (export jobs, inbound
	// file jobs).
	Modules *bridge.Instances
	// Router receives what a reprocessed inbound file changes.
	Router *delivery.Router
}

// Mux registers a page's routes: each behind the session check, the role
// check and, for methods other than GET and HEAD, the CSRF check.
type Mux struct {
	s    *Server
	page *Page
}

// Handle registers h for pattern, written as for net/http.ServeMux with a
// method ("GET /console/deliveries/{id}", "POST /console/deliveries/retry").
// A request without a valid session is sent to the login page (GET) or
// refused with 401; a user below role gets 403; a POST, PUT, PATCH or
// DELETE without the session's CSRF token (form field "csrf" or header
// X-CSRF-Token) gets 403 and h does not run. The pattern must start with
// a method and /console/; it panics otherwise (a programming error).
func (m *Mux) Handle(pattern string, role Role, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/console/") {
		panic(fmt.Sprintf("console.Mux.Handle %q: want \"METHOD /console/…\"", pattern))
	}
	if roleNames[role] == "" {
		panic(fmt.Sprintf("console.Mux.Handle %q: role %d is not one of RoleViewer…RoleAdmin", pattern, int(role)))
	}
	m.s.mux.Handle(pattern, m.s.guard(m.page, role, h))
}

// HandleFunc is Handle for a function.
func (m *Mux) HandleFunc(pattern string, role Role, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, role, http.HandlerFunc(h))
}
