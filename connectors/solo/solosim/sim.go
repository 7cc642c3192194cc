// Package solosim is an in-process simulator of the Teladoc Health Solo
// External API (patients, appointments, waiting rooms) for tests and
// demos. It enforces the documented rules, answers errors in Solo's
// {"error":{"message"}} shape, keeps an in-memory request log without
// bodies, hands out deterministic ids, and injects faults on demand.
//
// Choices where the spec is silent (documented so tests do not mistake
// them for Solo's behaviour):
//   - rule violations answer 400 "Bad parameters [field: reason]" (the
//     spec's Bad Request shape); an unknown waiting room, and a duplicate
//     patient id or appointment externalId when Options.RejectDuplicates is
//     set, answer 422 (the spec's "Rejected request");
//   - the plain {patient_id} path segment is the caller's patient id (the
//     "id" the create requires) and GET /qapi/v1/appointments/{id} accepts
//     a SAID or an externalId;
//   - SPIDs start at 1001, SAIDs at 5001, visit URLs are
//     https://solo.sim/visit/{SAID};
//   - "active" must be a boolean when given (400 otherwise); a patient
//     without it is active; an update with active false deactivates the
//     patient and sends patient:deactivated (with its SPID) once, on the
//     change; a later update with active true reactivates it. Appointments
//     of a deactivated patient are still accepted (the spec says nothing).
package solosim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/internal/simkit"
)

// Options configures a Sim. The zero value is usable: key "test-key",
// DefaultWaitingRooms, time.Now.
type Options struct {
	// APIKey is the only Api-Key accepted; others get 401.
	APIKey string
	// WaitingRooms are the known waiting room names; nil means
	// DefaultWaitingRooms.
	WaitingRooms []string
	// RejectDuplicates makes a second create with the same patient id or
	// appointment externalId fail 422. Off by default: Solo documents no
	// such uniqueness, so a double create shows as two records.
	RejectDuplicates bool
	// Now is the clock stamped on the request log.
	Now func() time.Time
}

// DefaultAPIKey is the key a Sim accepts when Options.APIKey is empty.
const DefaultAPIKey = "test-key"

// DefaultWaitingRooms returns the rooms of a Sim whose Options name none:
// the spec's two example rooms (ids room-1 and room-2), then those the
// README's Solo walk-through routes to — every room of the shipped
// solo/waiting-rooms.csv and the route parameter's Telehealth — so
// `fhirbridge sandbox solo` accepts every appointment of the walk-through.
func DefaultWaitingRooms() []string {
	return []string{"Default Waiting Room Name 1", "Default Waiting Room Name 2", "General Practice", "Dermatology", "Telehealth"}
}

// Sim is the simulator; an http.Handler safe for concurrent use.
type Sim struct {
	opt    Options
	mux    *http.ServeMux
	closed chan struct{}
	once   sync.Once
	srv    *http.Server
	faults simkit.Faults
	log    simkit.Log
	kit    simkit.Handler

	mu       sync.Mutex
	patients []*Patient
	appts    []*Appointment
	nextSPID int
	nextSAID int
	areas    map[string]any // state of further areas, see area
}

// New returns a simulator with no data.
func New(opt Options) *Sim {
	if opt.APIKey == "" {
		opt.APIKey = DefaultAPIKey
	}
	if opt.WaitingRooms == nil {
		opt.WaitingRooms = DefaultWaitingRooms()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Sim{opt: opt, mux: http.NewServeMux(), closed: make(chan struct{}), nextSPID: 1001, nextSAID: 5001}
	s.routes()
	s.kit = s.handler()
	return s
}

// Start serves the simulator on addr (e.g. "127.0.0.1:0") in the
// background and returns its base URL; Close stops it.
func (s *Sim) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	srv := s.srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close releases requests held by faults and stops a server begun with
// Start. It is safe to call more than once.
func (s *Sim) Close() error {
	s.once.Do(func() { close(s.closed) })
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Request is one request-log entry. It holds no body: only a SHA-256 of
// it. Status is what the simulator decided, even when a fault kept it from
// being sent (see Fault); 0 for a reset before handling.
type Request = simkit.Request

// Requests returns a copy of the request log, oldest first.
func (s *Sim) Requests() []Request { return s.log.Requests() }

// Patient is a stored patient. Doc is the demographics as last written:
// in memory for test assertions only, never logged.
type Patient struct {
	SPID int
	ID   string
	Doc  map[string]any
}

// Active reports whether the patient is active: true unless the last
// write set "active" to false (Solo deactivates a patient that way).
func (p Patient) Active() bool { return p.Doc["active"] != false }

// Appointment is a stored appointment.
type Appointment struct {
	SAID        int
	PatientID   string // the caller's patient id
	ExternalID  string
	WaitingRoom string
	Date        int64
	Duration    int
	Reasons     []string
	Status      string
	VisitURL    string
}

// Patients returns copies of the stored patients in creation order.
func (s *Sim) Patients() []Patient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Patient, len(s.patients))
	for i, p := range s.patients {
		out[i] = *p
	}
	return out
}

// Appointments returns copies of the stored appointments in creation order.
func (s *Sim) Appointments() []Appointment {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Appointment, len(s.appts))
	for i, a := range s.appts {
		out[i] = *a
		out[i].Reasons = slices.Clone(a.Reasons)
	}
	return out
}
