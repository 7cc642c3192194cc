package connectors

import "fmt"

// StatusError is a vendor's non-2xx answer, for connectors whose vendors
// answer errors alike (Tyto's portal, Bandyer's backend). It carries only
// what is safe to log: the status, the method, the path template (never a
// value in it) and the reason in the connector's words; Message is the
// vendor's answer summarised by VendorReason (its wording, with what may
// be a value replaced by "…"); Who names the vendor's side in Error
// ("portal", "backend"; "" is "vendor").
type StatusError struct {
	Method, Path string
	Status       int
	Reason       error
	Message      string
	Who          string
}

// Error reads "HTTP 404: <reason> (GET /teleconsultation/{roomId})", then
// ": <who> said: <message>" when the answer had one.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d: %v (%s %s)", e.Status, e.Reason, e.Method, e.Path)
	if e.Message != "" {
		who := e.Who
		if who == "" {
			who = "vendor"
		}
		s += ": " + who + " said: " + e.Message
	}
	return s
}

// Unwrap returns the reason.
func (e *StatusError) Unwrap() error { return e.Reason }

// HTTPStatus is the vendor's status, for the message log.
func (e *StatusError) HTTPStatus() int { return e.Status }
