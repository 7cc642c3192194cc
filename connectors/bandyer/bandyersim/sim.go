// Package bandyersim is an in-process simulator of the Bandyer
// Teleconsultation Service Backend (vendor-docs/
// bandyer-teleconsultation-backend.txt) for tests and demos:
//
//	POST   /teleconsultation                           create (201 {"roomId": …})
//	PATCH  /teleconsultation/{roomId}                  change (204)
//	POST   /teleconsultation/{roomId}/participants/data add a participant (201)
//	GET    /teleconsultation/{roomId}                  the requesting user's link (200)
//	DELETE /teleconsultation/{roomId}                  delete, state TRASH (204)
//
// What the spec says, it does: the Bandyer room exists only once every
// participant is known (participants.number == len(participants.data));
// a room whose participants are all known must hold a user of a plus group,
// else the spec's 400 bodies word for word; a change to a room whose
// participants are all known is refused from ImmutablePeriod before its
// start; a PATCH that changes anything replaces the Bandyer room (new
// Bandyer room id, same roomId); DELETE sets the CRUD state to TRASH; GET
// answers a participant its own accessLinkURL and Bandyer user id, anyone
// else 401 {"error": "Unauthorized user"}, and an unknown room 404
// {"error": "Room with id … not found on CRUD"}.
//
// Choices where the spec is silent (so tests do not mistake them for the
// backend's behaviour):
//   - The service's caller authenticates with the API key, as
//     "Authorization: Bearer KEY" or in the header Options.APIKeyHeader
//     (default X-Api-Key); anything else is 401 {"statusCode": 401,
//     "error": "Unauthorized", "message": …}, a body distinct from the
//     spec's "Unauthorized user".
//   - The requesting user of a GET is named by the header
//     Options.UserHeader (default X-Bandyer-User) carrying the
//     participant's userExternalId.
//   - Other errors have the CRUD service's interface: {"statusCode": N,
//     "error": "<status text>", "message": "<what is wrong>"}; messages
//     name fields, never values. A malformed body is 400, a body over
//     MaxBody 413.
//   - Without the auth0 dependency (Options.Auth0 false) every participant
//     needs groups and fullName and participants must be the {number, data}
//     object; with it, participants may also be the plain array of auth0
//     ids, and a participant's groups and fullName, when not sent, come from
//     Options.Auth0Users.
//   - A change inside the immutable period answers 400 {"error": "Failed
//     PATCH /teleconsultation: room is immutable"} (participants/data:
//     "Failed POST /teleconsultation/{roomId}/participants/data: room is
//     immutable"). DELETE is not refused: the spec names it no change.
//   - GET of a room whose participants are not all known (no Bandyer room
//     yet) is 409 Conflict. PATCH, DELETE and participants/data of an
//     unknown or trashed room answer the GET's 404 body.
//   - Adding a participant to a room already complete, or repeating a
//     userExternalId, is 400.
//   - roomIds are 24 hex digits like the CRUD's _id; Bandyer room ids are
//     room_000001…, Bandyer user ids user_000001… (one per userExternalId,
//     kept across rooms, as the spec describes).
package bandyersim

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/internal/simkit"
)

// Defaults of Options.
const (
	DefaultAPIKey       = "bandyer-key"
	DefaultAPIKeyHeader = "X-Api-Key"
	DefaultUserHeader   = "X-Bandyer-User"
	DefaultLinkBase     = "https://sandbox.bandyer.com/eu/direct-rest-call-handler/"
)

// DefaultPlusGroups are the plus groups when Options.PlusGroups is nil: the
// spec's examples give two groups, "doctor" and "patient", and a room needs
// a doctor.
var DefaultPlusGroups = []string{"doctor"}

// CRUD states of a teleconsultation.
const (
	StatePublic = "PUBLIC"
	StateTrash  = "TRASH"
)

// Auth0User is what the simulated auth0 knows of a user: the groups and
// full name the backend reads when a body leaves them out.
type Auth0User struct {
	Groups   []string
	FullName string
}

// Options configures a Sim. The zero value is usable.
type Options struct {
	// APIKey is the service credential accepted (default DefaultAPIKey).
	APIKey string
	// APIKeyHeader is the header that may carry APIKey instead of
	// "Authorization: Bearer" (default DefaultAPIKeyHeader).
	APIKeyHeader string
	// UserHeader names the requesting user of a GET by userExternalId
	// (default DefaultUserHeader).
	UserHeader string
	// Auth0 runs the backend with its auth0 dependency.
	Auth0 bool
	// Auth0Users is the simulated auth0 directory, by auth0 id.
	Auth0Users map[string]Auth0User
	// PlusGroups are the groups of which a room needs one member (default
	// DefaultPlusGroups).
	PlusGroups []string
	// Groups, when not nil, are the only groups a participant may be given
	// (the service configuration's privileges.$.groups).
	Groups []string
	// ImmutablePeriod mirrors IMMUTABLE_PERIOD_MS: a room whose
	// participants are all known refuses changes from this long before its
	// start. Negative disables the rule.
	ImmutablePeriod time.Duration
	// LinkBase prefixes every accessLinkURL (default DefaultLinkBase).
	LinkBase string
	// Now is the clock of the immutable period and the request log
	// (default time.Now).
	Now func() time.Time
}

// Participant is a participant of a room as the simulator holds it.
type Participant struct {
	UserExternalID string
	// BandyerUserID is the Bandyer user the external id translates to.
	BandyerUserID string
	Groups        []string
	FullName      string
	Language      string
	// AccessLinkURL is the participant's link into the current Bandyer
	// room; "" while the room is pending.
	AccessLinkURL string
}

// Room is a teleconsultation the simulator holds.
type Room struct {
	// ID is the roomId (the CRUD _id).
	ID string
	// BandyerRoomID is the current Bandyer room; "" while participants are
	// missing and after DELETE.
	BandyerRoomID string
	// PastBandyerRoomIDs are the Bandyer rooms replaced or deleted, oldest
	// first.
	PastBandyerRoomIDs []string
	// State is StatePublic or StateTrash.
	State string
	// Number is participants.number.
	Number       int
	Participants []Participant
	Start, End   time.Time
}

// Request is one entry of the request log: no body (only its SHA-256),
// no headers, no credentials.
type Request = simkit.Request

// Fault is a failure injected into matching requests; see simkit.Fault.
// Path patterns are backend paths, e.g. "/teleconsultation/*". A Status
// fault answers the CRUD error interface with Message (default the status
// text) without applying the request.
type Fault = simkit.Fault

// Sim is the simulator; an http.Handler safe for concurrent use.
type Sim struct {
	opt    Options
	server *simkit.Server
	faults simkit.Faults
	log    simkit.Log
	kit    simkit.Handler

	mu       sync.Mutex
	rooms    map[string]*Room
	order    []string
	users    map[string]string // userExternalId → Bandyer user id
	seqRoom  int
	seqBRoom int
}

// New returns a simulator with no rooms.
func New(opt Options) *Sim {
	if opt.APIKey == "" {
		opt.APIKey = DefaultAPIKey
	}
	if opt.APIKeyHeader == "" {
		opt.APIKeyHeader = DefaultAPIKeyHeader
	}
	if opt.UserHeader == "" {
		opt.UserHeader = DefaultUserHeader
	}
	if opt.PlusGroups == nil {
		opt.PlusGroups = DefaultPlusGroups
	}
	if opt.LinkBase == "" {
		opt.LinkBase = DefaultLinkBase
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Sim{opt: opt, server: simkit.NewServer("bandyersim"), rooms: map[string]*Room{}, users: map[string]string{}}
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

// URL is the base URL Start returned ("" before Start).
func (s *Sim) URL() string { return s.server.URL() }

// Close stops a started server and releases held requests.
func (s *Sim) Close() error { return s.server.Close() }

// ServeHTTP logs the request, applies a matching fault and serves the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.kit.ServeHTTP(w, r) }

// Inject adds a fault; faults are tried in the order injected.
func (s *Sim) Inject(f Fault) { s.faults.Inject(f) }

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() { s.faults.Clear() }

// Requests returns a copy of the request log, oldest first.
func (s *Sim) Requests() []Request { return s.log.Requests() }

// Rooms returns copies of every room held, trashed ones included, in
// creation order.
func (s *Sim) Rooms() []Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Room, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.rooms[id].clone())
	}
	return out
}

// Room returns a copy of the room with roomId id.
func (s *Sim) Room(id string) (Room, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[id]
	if !ok {
		return Room{}, false
	}
	return r.clone(), true
}

func (r *Room) clone() Room {
	cp := *r
	cp.PastBandyerRoomIDs = slices.Clone(r.PastBandyerRoomIDs)
	cp.Participants = make([]Participant, len(r.Participants))
	for i, p := range r.Participants {
		p.Groups = slices.Clone(p.Groups)
		cp.Participants[i] = p
	}
	return cp
}
