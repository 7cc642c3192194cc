// Package simkit is the machinery the vendor simulators (solosim, tytosim)
// share: injected faults, a request log that never holds a body, and a
// Handler that applies the one and records the other around a vendor's
// own authentication and routing.
//
// A simulator keeps a Faults and a Log, builds a Handler over its routing
// with a callback that writes the vendor's error body, and serves through
// it:
//
//	s.kit = simkit.Handler{Next: http.HandlerFunc(s.serve), Faults: &s.faults,
//		Log: &s.log, Now: opt.Now, Done: s.closed, Error: writeFault}
//
// Every type is safe for concurrent use.
package simkit

import (
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fault is a failure injected into matching requests. Exactly one
// behaviour applies, checked in this order: Reset, TimeoutAfterCommit,
// Status, else Delay alone (a slow but normal answer).
type Fault struct {
	// Method matches the request method, case-insensitively; "" matches
	// any.
	Method string
	// Path is a path.Match pattern over the request path (URL.Path), e.g.
	// "/qapi/v1/patients/*/appointments"; "" matches any.
	Path string
	// Times is how many matching requests the fault affects; 0 or less
	// means every one until the faults are cleared.
	Times int
	// Status answers with this code and the vendor's error body, applying
	// nothing.
	Status int
	// Message is the error message a Status fault answers with; the
	// simulator chooses one when it is empty.
	Message string
	// RetryAfter is sent as the Retry-After header with Status: seconds
	// ("120") or an HTTP-date.
	RetryAfter string
	// Delay waits before answering; with TimeoutAfterCommit it is how long
	// to hold the connection before closing it (0: until the client or the
	// simulator gives up).
	Delay time.Duration
	// Reset closes the connection with a TCP reset without answering and
	// without applying the request.
	Reset bool
	// TimeoutAfterCommit applies the request, then holds and closes the
	// connection without sending the answer.
	TimeoutAfterCommit bool
}

// Matches reports whether f applies to r (Times aside).
func (f Fault) Matches(r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Path == "" {
		return true
	}
	ok, _ := path.Match(f.Path, r.URL.Path)
	return ok
}

// Kind names the behaviour f applies, as the request log records it:
// "reset", "timeout-after-commit", "status" or "delay".
func (f Fault) Kind() string {
	switch {
	case f.Reset:
		return "reset"
	case f.TimeoutAfterCommit:
		return "timeout-after-commit"
	case f.Status != 0:
		return "status"
	default:
		return "delay"
	}
}

// Faults is an ordered list of injected faults. The zero value is empty
// and ready to use.
type Faults struct {
	mu   sync.Mutex
	list []*Fault
}

// Inject adds a fault; faults are tried in the order injected.
func (fs *Faults) Inject(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, &f)
}

// Clear removes every injected fault.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = nil
}

// Take returns the first fault matching r and counts it used: a fault
// with Times left is dropped when they run out. ok is false when none
// matches.
func (fs *Faults) Take(r *http.Request) (f Fault, ok bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, p := range fs.list {
		if !p.Matches(r) {
			continue
		}
		f = *p
		if p.Times > 0 {
			if p.Times--; p.Times == 0 {
				fs.list = slices.Delete(fs.list, i, i+1)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// Request is one request-log entry. It holds no body, no headers and no
// credentials: only a SHA-256 of the body.
type Request struct {
	Time   time.Time
	Method string
	Path   string
	// Status is what the simulator decided, even when a fault kept it
	// from being sent; 0 for a reset before handling or a request the
	// client left while it was held.
	Status int
	// BodySHA256 is the hex SHA-256 of the request body ("" when empty).
	BodySHA256 string
	// Fault names the fault applied (see Fault.Kind); "" when none.
	Fault string
}

// Log is the request log. The zero value is empty and ready to use.
type Log struct {
	mu      sync.Mutex
	entries []Request
}

// Add appends an entry.
func (l *Log) Add(e Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

// Requests returns a copy of the log, oldest first.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries)
}
