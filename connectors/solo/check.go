package solo

// The connection test of `fhirbridge check --connect`: Check (deliver.go)
// is the connectors.Checker contract; Probe makes the same call and also
// says what it saw, with failures worded for an operator.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// checkPath is the call both Check and Probe make: the cheapest
// authenticated read the External API documents ("Get Waiting Room List").
const checkPath = "/qapi/v1/waiting-rooms"

// ProbeError is a failed Probe. Its message is the reason only — the
// call and what went wrong, e.g. "GET /qapi/v1/waiting-rooms: HTTP 401:
// the Api-Key was refused" — never the key or an answer body. It wraps
// the classified cause, so connectors.Classify and errors.As (for a
// *StatusError) see through it.
type ProbeError struct {
	// Reason says what went wrong in an operator's words.
	Reason string
	// Err is the classified error of the call.
	Err error
}

// Error returns the call and the reason.
func (e *ProbeError) Error() string { return "GET " + checkPath + ": " + e.Reason }

// Unwrap returns the classified cause.
func (e *ProbeError) Unwrap() error { return e.Err }

// Probe lists the practice's waiting rooms (GET /qapi/v1/waiting-rooms
// with the Api-Key), as Check does, and describes the outcome: on success
// "GET /qapi/v1/waiting-rooms: 3 rooms"; on failure a *ProbeError. It
// changes no Solo data and is safe for concurrent use.
func (c *Connector) Probe(ctx context.Context) (string, error) {
	rooms, err := c.WaitingRooms(ctx)
	if err != nil {
		return "", &ProbeError{Reason: probeReason(err), Err: err}
	}
	unit := "rooms"
	if len(rooms) == 1 {
		unit = "room"
	}
	return fmt.Sprintf("GET %s: %d %s", checkPath, len(rooms), unit), nil
}

// probeReason words an error of the waiting-room call. The spec documents
// the Api-Key header but no error statuses, so the reasons name the usual
// HTTP meaning for this call.
func probeReason(err error) string {
	var se *StatusError
	if !errors.As(err, &se) {
		var f *connectors.Failure
		if errors.As(err, &f) && f.Class == connectors.Permanent {
			return "the answer is not a list of waiting rooms (is base_url Solo's API endpoint?)"
		}
		if isTimeout(err) {
			return "cannot reach Solo: no answer before the timeout"
		}
		return "cannot reach Solo: " + connectors.NetCause(err).Error()
	}
	s := se.Status
	switch {
	case s == http.StatusUnauthorized:
		return "HTTP 401: the Api-Key was refused"
	case s == http.StatusForbidden:
		return "HTTP 403: the Api-Key may not list the practice's waiting rooms"
	case s == http.StatusNotFound:
		return "HTTP 404: no such call at base_url (is it Solo's API endpoint?)"
	case s == http.StatusTooManyRequests:
		return "HTTP 429: Solo asks to slow down; try again later"
	case s == http.StatusRequestTimeout || s >= 500:
		return fmt.Sprintf("HTTP %d: Solo is unavailable (%s); try again later", s, http.StatusText(s))
	case s >= 300 && s < 400:
		return fmt.Sprintf("HTTP %d: Solo redirects (redirects are not followed; check base_url)", s)
	default:
		return fmt.Sprintf("HTTP %d %s", s, http.StatusText(s))
	}
}

// isTimeout reports an exchange that ran out of time.
func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
