package simkit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"time"
)

// DefaultMaxBody is how much of a request body a Handler reads when
// MaxBody is 0.
const DefaultMaxBody = 1 << 20

// Handler logs every request, applies the first matching fault and
// otherwise serves through Next. Set its fields before the first request
// and do not change them after.
type Handler struct {
	// Next is the vendor's own authentication and routing.
	Next http.Handler
	// Faults are the injected faults; nil injects none.
	Faults *Faults
	// Log receives one entry per request; nil logs nothing.
	Log *Log
	// Error writes the vendor's error body for a Status fault, whose
	// status code it must send; Retry-After is already set. Nil sends the
	// bare status.
	Error func(w http.ResponseWriter, f Fault)
	// Now stamps log entries (default time.Now).
	Now func() time.Time
	// Done, once closed, releases requests held by a fault.
	Done <-chan struct{}
	// MaxBody is how many body bytes are read, hashed and passed on
	// (default DefaultMaxBody).
	MaxBody int64
	// EscapedPath logs URL.EscapedPath() instead of URL.Path.
	EscapedPath bool
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	entry := h.entry(r)
	if h.Log != nil {
		defer func() { h.Log.Add(entry) }()
	}
	var f Fault
	var ok bool
	if h.Faults != nil {
		f, ok = h.Faults.Take(r)
	}
	if ok {
		entry.Fault = f.Kind()
		if !h.fault(w, r, f, &entry.Status) {
			return
		}
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h.Next.ServeHTTP(sw, r)
	entry.Status = sw.status
}

// entry reads the body (putting it back for Next) and starts r's log
// entry.
func (h *Handler) entry(r *http.Request) Request {
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, limit))
	r.Body = io.NopCloser(bytes.NewReader(body))
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	e := Request{Time: now(), Method: r.Method, Path: r.URL.Path}
	if h.EscapedPath {
		e.Path = r.URL.EscapedPath()
	}
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		e.BodySHA256 = hex.EncodeToString(sum[:])
	}
	return e
}

// fault applies f, recording the decided status; it reports whether the
// request is still to be served normally (a delay fault).
func (h *Handler) fault(w http.ResponseWriter, r *http.Request, f Fault, status *int) bool {
	switch f.Kind() {
	case "reset":
		reset(w)
		return false
	case "timeout-after-commit":
		rec := httptest.NewRecorder()
		h.Next.ServeHTTP(rec, r)
		*status = rec.Code
		h.hold(r, f.Delay)
		reset(w)
		return false
	case "status":
		if f.Delay > 0 && !h.hold(r, f.Delay) {
			return false
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		*status = f.Status
		if h.Error != nil {
			h.Error(w, f)
		} else {
			w.WriteHeader(f.Status)
		}
		return false
	default:
		return f.Delay <= 0 || h.hold(r, f.Delay)
	}
}

// hold waits d (until released when 0), or until the client leaves or Done
// closes; it reports whether the full wait elapsed.
func (h *Handler) hold(r *http.Request, d time.Duration) bool {
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
	case <-h.Done:
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

// statusWriter remembers the status Next sends.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
