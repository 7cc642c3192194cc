// Package tytosim is an in-process simulator of the TytoCare REST APIs of
// a Vidyo portal (vendor-docs/tytocare-vidyo-integration.txt: stations,
// device pairing, clinicians, visits) for tests and demos. It answers every
// error of the spec's table with the documented status and message, keeps
// an in-memory request log without bodies, and injects faults on demand.
//
// The spec spells out one path only (GET
// /api/extintegration/tyto/v1/stations/{identifier}); the simulator serves
// the others on the same pattern, as the connector assumes by default:
//
//	POST /api/extintegration/tyto/v1/stations                          create station
//	GET  /api/extintegration/tyto/v1/stations/{identifier}             retrieve station
//	POST /api/extintegration/tyto/v1/stations/{identifier}/devices     pair a device
//	PUT  /api/extintegration/tyto/v1/clinicians/{identifier}           create or update clinician
//	POST /api/extintegration/tyto/v1/visits                            create visit
//
// Choices where the spec is silent (so tests do not mistake them for the
// portal's behaviour): HTTP Basic authentication with the tenant's user
// name and password (anything else is 401, as is a request from an address
// not whitelisted, see SetWhitelisted); every call answers 408 while the
// Tyto server is unreachable (SetTytoReachable); an identifier is valid
// when it is made of ASCII letters, digits, '-', '_' and '.'; a clinician
// identifier over 140 characters is the spec's 404 [Invalid Identifier];
// a second visit with the same identifier answers 409; error bodies are
// {"status": N, "message": "<the spec's words>"}; visit ids are V-000001…
package tytosim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/internal/simkit"
)

// Options configures a Sim. The zero value is usable: user "tyto-user",
// password "tyto-pass", time.Now.
type Options struct {
	// Username and Password are the only Basic credentials accepted.
	Username, Password string
	// Prefix is the API's path prefix (default DefaultPrefix).
	Prefix string
	// Now is the clock stamped on the request log.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultUsername = "tyto-user"
	DefaultPassword = "tyto-pass"
	DefaultPrefix   = "/api/extintegration/tyto/v1"
)

// Station is a station the simulator holds.
type Station struct {
	Identifier string         `json:"identifier"`
	Fields     map[string]any `json:"-"`
	Devices    []string       `json:"devices"`
}

// Clinician is a clinician the simulator holds.
type Clinician struct {
	Identifier string
	Fields     map[string]any
	// Puts counts the PUTs that created or updated it.
	Puts int
}

// Visit is a visit the simulator holds.
type Visit struct {
	ID, Identifier, Clinician, Station string
	// Seq is the order in which the simulator accepted it among all
	// creates (stations, clinicians, pairings, visits), from 1.
	Seq int
}

// Request is one entry of the request log: no body (only its SHA-256),
// no credentials. Path is the escaped path as requested.
type Request = simkit.Request

// Sim is the simulator; an http.Handler safe for concurrent use.
type Sim struct {
	opt    Options
	closed chan struct{}
	once   sync.Once
	srv    *http.Server
	faults simkit.Faults
	log    simkit.Log
	kit    simkit.Handler

	mu          sync.Mutex
	stations    map[string]*Station
	clinicians  map[string]*Clinician
	visits      []*Visit
	order       []string // "station:ID", "clinician:ID", "pair:ID", "visit:ID" in acceptance order
	unreachable bool
	blocked     bool
}

// New returns a simulator with no data.
func New(opt Options) *Sim {
	if opt.Username == "" {
		opt.Username = DefaultUsername
	}
	if opt.Password == "" {
		opt.Password = DefaultPassword
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Sim{opt: opt, closed: make(chan struct{}), stations: map[string]*Station{}, clinicians: map[string]*Clinician{}}
	s.kit = s.handler()
	return s
}

// Start serves the simulator on addr ("127.0.0.1:0" for any free port)
// and returns its base URL.
func (s *Sim) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops a started server and releases held requests.
func (s *Sim) Close() error {
	s.once.Do(func() { close(s.closed) })
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return s.srv.Close()
	}
	return nil
}

// SetTytoReachable(false) makes every call answer 408, as a portal that
// cannot reach the Tyto server does; true restores normal answers.
func (s *Sim) SetTytoReachable(ok bool) {
	s.mu.Lock()
	s.unreachable = !ok
	s.mu.Unlock()
}

// SetWhitelisted(false) makes every call answer 401, as when the caller's
// IP address is not whitelisted on the Tyto server.
func (s *Sim) SetWhitelisted(ok bool) {
	s.mu.Lock()
	s.blocked = !ok
	s.mu.Unlock()
}

// AddStation creates a station directly (for tests of "already exists").
func (s *Sim) AddStation(identifier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stations[identifier] = &Station{Identifier: identifier, Fields: map[string]any{}}
}

// AddClinician creates a clinician directly.
func (s *Sim) AddClinician(identifier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clinicians[identifier] = &Clinician{Identifier: identifier, Fields: map[string]any{}}
}

// DeleteStation removes a station (for tests of a station that vanished).
func (s *Sim) DeleteStation(identifier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.stations, identifier)
}

// DeleteClinician removes a clinician.
func (s *Sim) DeleteClinician(identifier string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clinicians, identifier)
}

// Stations returns copies of the stations held.
func (s *Sim) Stations() map[string]Station {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Station{}
	for k, v := range s.stations {
		cp := *v
		cp.Devices = append([]string(nil), v.Devices...)
		out[k] = cp
	}
	return out
}

// Clinicians returns copies of the clinicians held.
func (s *Sim) Clinicians() map[string]Clinician {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Clinician{}
	for k, v := range s.clinicians {
		out[k] = *v
	}
	return out
}

// Visits returns copies of the visits held, in creation order.
func (s *Sim) Visits() []Visit {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Visit, len(s.visits))
	for i, v := range s.visits {
		out[i] = *v
	}
	return out
}

// Order lists what was accepted, in order: "station:ID", "clinician:ID",
// "pair:STATION/DEVICE", "visit:IDENTIFIER".
func (s *Sim) Order() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Requests returns a copy of the request log, oldest first.
func (s *Sim) Requests() []Request { return s.log.Requests() }
