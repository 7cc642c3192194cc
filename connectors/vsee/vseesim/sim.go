// Package vseesim is an in-process simulator of VSee Clinic's patient-side
// integration (the vendor's "Patient Side Integration" guide) for tests
// and demos. One server plays both the API and the patient portal:
//
//	POST /users/sso            create or find a user, mint an SSO token
//	POST /intakes              an intake for the token's user
//	POST /visits               a scheduled visit (the availability rule)
//	POST /visits/add_walkin    a walk-in visit
//	POST /add_econsult         an e-consult (asynchronous visit)
//	GET  /visits/{id}          the visit with its join code
//	GET  {PortalPath}auth?sso_token=…&next=…   log in once, 302 to next
//
// What the spec says, it does: the SSO answer carries data.id (the member
// id) and data.token.token; intakes and visits take the SSO token in the
// X-ApiToken header; a scheduled visit is refused when the provider has no
// availability unless the Admin API Token is used, which forces it; the
// visit may carry data.one_time_link_token; GET /visits/:id answers the
// visit's code; auth logs the user in and redirects to {portal_base_url}
// + next.
//
// Choices where the spec is silent (so tests do not mistake them for
// VSee's behaviour):
//   - POST /users/sso authenticates with the headers X-ApiKey and
//     X-ApiSecret (Options.APIKey, Options.APISecret); anything else is 401.
//     Its body is one JSON object; see ParseSSOBody for the fields taken.
//     A user is found by its external id ("code", else "external_id", else
//     "email"); the same id always gives the same member id. Every call
//     mints a new token; earlier ones stay valid until they expire
//     (Options.TokenTTL after minting).
//   - Every other API call authenticates with X-ApiToken alone: a valid,
//     unexpired SSO token, or Options.AdminToken (then the patient is the
//     intake's). POST /intakes takes only an SSO token.
//   - Bodies are JSON objects of at most MaxBody bytes (413 beyond);
//     unknown fields are ignored. See ParseVisitBody.
//   - Errors answer {"error": {"code": N, "message": "…"}}; messages name
//     fields, never values. An intake or visit of another patient is 404,
//     as an unknown one.
//   - Availability: with Options.Availability nil every provider is
//     available; otherwise a scheduled visit needs a provider_id whose
//     free slot holds its start, and takes that slot.
//   - auth accepts a token once: unknown or expired is 401, already used
//     403, a next that is not a path on the portal 400. The portal's other
//     pages answer 200 with a short text naming the page.
//   - Member ids are decimal from 1001, visit ids decimal from 67258,
//     intake ids UUID-shaped, tokens and codes 32 hex digits.
package vseesim

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/internal/simkit"
)

// Defaults of Options.
const (
	DefaultAPIKey     = "vsee-key"
	DefaultSecret     = "vsee-secret"
	DefaultAdminToken = "vsee-admin-token"
	DefaultPortalPath = "/vc/next/"
	DefaultTokenTTL   = 5 * time.Minute
)

// Visit kinds.
const (
	KindScheduled = "scheduled"
	KindWalkin    = "walkin"
	KindEconsult  = "econsult"
)

// Slot is a provider's availability, [Start, End).
type Slot struct {
	Start, End time.Time
}

// Options configures a Sim. The zero value is usable.
type Options struct {
	// APIKey and APISecret are what POST /users/sso accepts in X-ApiKey and
	// X-ApiSecret (defaults DefaultAPIKey, DefaultSecret).
	APIKey, APISecret string
	// AdminToken is the Admin API Token (default DefaultAdminToken); a
	// visit made with it is forced past the availability rule.
	AdminToken string
	// TokenTTL is how long an SSO token is valid (default DefaultTokenTTL).
	TokenTTL time.Duration
	// Availability maps a provider id to its slots; nil makes every
	// provider available at any time.
	Availability map[string][]Slot
	// NoOneTimeLinks leaves one_time_link_token out of scheduled visits
	// (a clinic not configured for one-time appointment links).
	NoOneTimeLinks bool
	// PortalPath is the portal's path on the server, with the trailing
	// slash (default DefaultPortalPath): portal_base_url is URL()+PortalPath.
	PortalPath string
	// Now is the clock of token expiry and the request log (default
	// time.Now).
	Now func() time.Time
}

// User is a VSee user the simulator holds.
type User struct {
	// ID is the member id (data.id of POST /users/sso).
	ID string
	// ExternalID is the id the user is found by (code, external_id or
	// email of the body).
	ExternalID string
	FirstName  string
	LastName   string
	Email      string
	DOB        string
	// Tokens is how many SSO tokens were minted for the user.
	Tokens int
}

// Intake is an intake the simulator holds.
type Intake struct {
	ID       string
	MemberID string
}

// Visit is a visit the simulator holds.
type Visit struct {
	ID string
	// Kind is KindScheduled, KindWalkin or KindEconsult.
	Kind     string
	IntakeID string
	// MemberID is the patient's member id (the intake's).
	MemberID string
	// Code is the join code GET /visits/:id answers.
	Code string
	// OneTimeLinkToken is the one_time_link_token of a scheduled visit
	// ("" when not issued).
	OneTimeLinkToken string
	ProviderID       string
	RoomCode         string
	// Start is the scheduled start (zero for walk-ins and e-consults).
	Start time.Time
	// Forced is true when the visit was made with the Admin API Token.
	Forced bool
}

// Login is one accepted auth redirect, without its token.
type Login struct {
	MemberID string
	Next     string
	Time     time.Time
}

// Request is one entry of the request log: no body (only its SHA-256), no
// headers, no query (so no SSO token), no credentials.
type Request = simkit.Request

// Fault is a failure injected into matching requests; see simkit.Fault.
// A Status fault answers the error body with Message (default the status
// text) without applying the request.
type Fault = simkit.Fault

type token struct {
	member  string
	expires time.Time
	used    bool
}

// Sim is the simulator; an http.Handler safe for concurrent use.
type Sim struct {
	opt    Options
	server *simkit.Server
	faults simkit.Faults
	log    simkit.Log
	kit    simkit.Handler

	mu       sync.Mutex
	users    map[string]*User // by member id
	byExt    map[string]string
	userList []string
	tokens   map[string]*token
	intakes  map[string]*Intake
	visits   map[string]*Visit
	visitIDs []string
	booked   map[string][]bool // provider → taken flags per slot
	logins   []Login
}

// New returns a simulator with no users.
func New(opt Options) *Sim {
	if opt.APIKey == "" {
		opt.APIKey = DefaultAPIKey
	}
	if opt.APISecret == "" {
		opt.APISecret = DefaultSecret
	}
	if opt.AdminToken == "" {
		opt.AdminToken = DefaultAdminToken
	}
	if opt.TokenTTL <= 0 {
		opt.TokenTTL = DefaultTokenTTL
	}
	if opt.PortalPath == "" {
		opt.PortalPath = DefaultPortalPath
	}
	if !strings.HasPrefix(opt.PortalPath, "/") {
		opt.PortalPath = "/" + opt.PortalPath
	}
	if !strings.HasSuffix(opt.PortalPath, "/") {
		opt.PortalPath += "/"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Sim{
		opt: opt, server: simkit.NewServer("vseesim"),
		users: map[string]*User{}, byExt: map[string]string{}, tokens: map[string]*token{},
		intakes: map[string]*Intake{}, visits: map[string]*Visit{}, booked: map[string][]bool{},
	}
	s.kit = simkit.Handler{
		Next:    http.HandlerFunc(s.serve),
		Faults:  &s.faults,
		Log:     &s.log,
		Error:   writeFault,
		Now:     opt.Now,
		Done:    s.server.Done(),
		MaxBody: MaxBody + 1, // one byte more, so serve can tell an oversized body
	}
	return s
}

// Options returns the options in force, defaults filled in.
func (s *Sim) Options() Options { return s.opt }

// Start serves the simulator on addr ("127.0.0.1:0" for any free port)
// and returns its base URL.
func (s *Sim) Start(addr string) (string, error) { return s.server.Start(addr, s) }

// URL is the base URL Start returned ("" before Start): the API's
// base_url.
func (s *Sim) URL() string { return s.server.URL() }

// PortalURL is the portal_base_url, with its trailing slash ("" before
// Start).
func (s *Sim) PortalURL() string {
	if s.URL() == "" {
		return ""
	}
	return s.URL() + s.opt.PortalPath
}

// Close stops a started server and releases held requests.
func (s *Sim) Close() error { return s.server.Close() }

// ServeHTTP logs the request, applies a matching fault and serves the API
// and the portal.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.kit.ServeHTTP(w, r) }

// Inject adds a fault; faults are tried in the order injected.
func (s *Sim) Inject(f Fault) { s.faults.Inject(f) }

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() { s.faults.Clear() }

// Requests returns a copy of the request log, oldest first.
func (s *Sim) Requests() []Request { return s.log.Requests() }

// Users returns copies of every user, in creation order.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userList))
	for _, id := range s.userList {
		out = append(out, *s.users[id])
	}
	return out
}

// Visits returns copies of every visit, in creation order.
func (s *Sim) Visits() []Visit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Visit, 0, len(s.visitIDs))
	for _, id := range s.visitIDs {
		out = append(out, *s.visits[id])
	}
	return out
}

// Intakes returns copies of every intake, in no particular order.
func (s *Sim) Intakes() []Intake {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Intake, 0, len(s.intakes))
	for _, in := range s.intakes {
		out = append(out, *in)
	}
	slices.SortFunc(out, func(a, b Intake) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// TokenUsed reports whether the portal accepted tok at auth (a test hook:
// the single-use rule).
func (s *Sim) TokenUsed(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return ok && t.used
}

// Logins returns the accepted auth redirects, oldest first.
func (s *Sim) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logins)
}
