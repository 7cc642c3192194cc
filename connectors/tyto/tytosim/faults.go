package tytosim

import (
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors/internal/simkit"
)

// Fault is a failure injected into matching requests; see simkit.Fault.
// Path patterns are portal paths, e.g.
// "/api/extintegration/tyto/v1/stations/*". A Status fault answers without
// applying the request; the body's message is Message, or the spec's words
// for 401 and 408, else the status text.
type Fault = simkit.Fault

// Inject adds a fault; faults are tried in the order injected.
func (s *Sim) Inject(f Fault) { s.faults.Inject(f) }

// ClearFaults removes every injected fault.
func (s *Sim) ClearFaults() { s.faults.Clear() }

// ServeHTTP logs the request, applies a matching fault and serves the API.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.kit.ServeHTTP(w, r) }

// handler wraps authentication and routing in the shared fault and log
// machinery.
func (s *Sim) handler() simkit.Handler {
	return simkit.Handler{
		Next:        http.HandlerFunc(s.serve),
		Faults:      &s.faults,
		Log:         &s.log,
		Error:       writeFault,
		Now:         s.opt.Now,
		Done:        s.closed,
		EscapedPath: true,
	}
}

// writeFault answers an injected Status fault in the portal's error shape.
func writeFault(w http.ResponseWriter, f Fault) {
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
	writeError(w, f.Status, msg)
}
