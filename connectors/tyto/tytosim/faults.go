package tytosim

import (
	"io"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

// Fault is a failure injected into matching requests. Exactly one
// behaviour applies, checked in this order: Reset, Status, else Delay
// alone (a slow but normal answer).
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path is a path.Match pattern over the request path, e.g.
	// "/api/extintegration/tyto/v1/stations/*"; "" matches any.
	Path string
	// Times is how many matching requests the fault affects; 0 or less
	// means every one until ClearFaults.
	Times int
	// Status answers with this code without applying the request; the
	// body is Message, or the spec's words for 401 and 408.
	Status  int
	Message string
	// RetryAfter is sent as the Retry-After header with Status.
	RetryAfter string
	// Delay waits before answering.
	Delay time.Duration
	// Reset closes the connection without answering or applying anything.
	Reset bool
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

func (s *Sim) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
			continue
		}
		if f.Path != "" {
			if ok, _ := path.Match(f.Path, r.URL.Path); !ok {
				continue
			}
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

// ServeHTTP logs the request, applies a matching fault and serves the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	entry := Request{Time: s.opt.Now(), Method: r.Method, Path: r.URL.EscapedPath()}
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
	case f.Status != 0:
		entry.Fault = "status"
		if f.Delay > 0 && !s.hold(r, f.Delay) {
			return
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		msg := f.Message
		switch {
		case msg != "":
		case f.Status == http.StatusUnauthorized:
			msg = Msg401
		case f.Status == http.StatusRequestTimeout:
			msg = Msg408
		default:
			msg = http.StatusText(f.Status)
		}
		entry.Status = f.Status
		writeError(w, f.Status, msg)
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

// hold waits d or until the client leaves or the Sim closes; it reports
// whether the full wait elapsed.
func (s *Sim) hold(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
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
		panic(http.ErrAbortHandler)
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
