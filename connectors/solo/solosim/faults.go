package solosim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"time"
)

// Fault is a failure injected into matching requests (RELIABILITY §9-12).
// Exactly one behaviour applies, checked in this order: Reset,
// TimeoutAfterCommit, Status, else Delay alone (a slow but normal answer).
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path is a path.Match pattern over the request path, e.g.
	// "/qapi/v1/patients" or "/qapi/v1/patients/*/appointments".
	Path string
	// Times is how many matching requests the fault affects; 0 or less
	// means every one until ClearFaults.
	Times int
	// Status answers with this code and a Solo error body, applying
	// nothing.
	Status int
	// RetryAfter is sent as the Retry-After header with Status: seconds
	// ("120") or an HTTP-date.
	RetryAfter string
	// Delay waits before answering; with TimeoutAfterCommit it is how long
	// to hold the connection before closing it (0: until the client or
	// Close gives up).
	Delay time.Duration
	// Reset closes the connection with a TCP reset without answering and
	// without applying the request.
	Reset bool
	// TimeoutAfterCommit applies the request, then holds and closes the
	// connection without sending the answer.
	TimeoutAfterCommit bool
}

// Inject adds a fault; faults are tried in the order injected.
func (s *Sim) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the first fault matching r and counts it used.
func (s *Sim) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if ok, _ := path.Match(f.Path, r.URL.Path); !ok {
			continue
		}
		cp := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &cp
	}
	return nil
}

// ServeHTTP logs the request, applies a matching fault, checks the
// Api-Key and serves the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20)) // attachments are up to 5 MB
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	entry := Request{Time: s.opt.Now(), Method: r.Method, Path: r.URL.Path}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		entry.BodySHA256 = hex.EncodeToString(sum[:])
	}
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, entry)
		s.mu.Unlock()
	}()

	f := s.takeFault(r)
	switch {
	case f == nil:
	case f.Reset:
		entry.Fault = "reset"
		reset(w)
		return
	case f.TimeoutAfterCommit:
		entry.Fault = "timeout-after-commit"
		rec := httptest.NewRecorder()
		s.serve(rec, r)
		entry.Status = rec.Code
		s.hold(r, f.Delay)
		reset(w)
		return
	case f.Status != 0:
		entry.Fault = "status"
		if f.Delay > 0 && !s.hold(r, f.Delay) {
			return
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		entry.Status = f.Status
		writeError(w, f.Status, fmt.Sprintf("injected fault %d", f.Status))
		return
	default:
		entry.Fault = "delay"
		if f.Delay > 0 && !s.hold(r, f.Delay) {
			return
		}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.serve(sw, r)
	entry.Status = sw.status
}

// serve checks the key and routes.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Api-Key") != s.opt.APIKey {
		writeError(w, http.StatusUnauthorized, "Invalid or missing Api-Key")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// hold waits d (forever when 0) or until the client leaves or the Sim
// closes; it reports whether the full wait elapsed.
func (s *Sim) hold(r *http.Request, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

// reset drops the connection without an answer, with a TCP RST when it can.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2 or a recorder: abort the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
