package solosim

import (
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors/internal/simkit"
)

// Fault is a failure injected into matching requests (RELIABILITY §9-12);
// see simkit.Fault. Path patterns are Solo paths, e.g. "/qapi/v1/patients"
// or "/qapi/v1/patients/*/appointments"; a Status fault answers with a Solo
// error body whose message is Message, else "injected fault N".
type Fault = simkit.Fault

// Inject adds a fault; faults are tried in the order injected.
func (s *Sim) Inject(f Fault) { s.faults.Inject(f) }

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() { s.faults.Clear() }

// ServeHTTP logs the request, applies a matching fault, checks the
// Api-Key and serves the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.kit.ServeHTTP(w, r) }

// handler wraps the Api-Key check and routing in the shared fault and
// log machinery.
func (s *Sim) handler() simkit.Handler {
	return simkit.Handler{
		Next:    http.HandlerFunc(s.serve),
		Faults:  &s.faults,
		Log:     &s.log,
		Error:   writeFault,
		Now:     s.opt.Now,
		Done:    s.closed,
		MaxBody: 16 << 20, // attachments are up to 5 MB
	}
}

// writeFault answers an injected Status fault in Solo's error shape.
func writeFault(w http.ResponseWriter, f Fault) {
	msg := f.Message
	if msg == "" {
		msg = fmt.Sprintf("injected fault %d", f.Status)
	}
	writeError(w, f.Status, msg)
}

// serve checks the key and routes.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Api-Key") != s.opt.APIKey {
		writeError(w, http.StatusUnauthorized, "Invalid or missing Api-Key")
		return
	}
	s.mux.ServeHTTP(w, r)
}
