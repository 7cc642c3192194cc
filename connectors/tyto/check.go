package tyto

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// ProbeIdentifier is the station identifier the connection test retrieves:
// a station that need not exist (404 proves the credentials work).
const ProbeIdentifier = "fhirbridge-connection-test"

// CheckError is a failed connection test. Error reads as the reason, in
// the spec's words where it has them; Unwrap gives the classified cause
// (connectors.Classify, errors.Is(err, ErrUnauthorized) work).
type CheckError struct {
	Reason string
	Err    error
}

func (e *CheckError) Error() string { return e.Reason }

// Unwrap returns the classified cause.
func (e *CheckError) Unwrap() error { return e.Err }

// Check tests every tenant (connectors.Checker); failures name their
// tenant.
func (c *Connector) Check(ctx context.Context) error {
	var errs []error
	for _, name := range c.TenantNames() {
		if err := c.tenants[name].Check(ctx); err != nil {
			var ce *CheckError
			if errors.As(err, &ce) {
				err = &CheckError{Reason: "tenant " + name + ": " + ce.Reason, Err: ce.Err}
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check is Probe without the description (connectors.Checker).
func (t *TenantConnector) Check(ctx context.Context) error {
	_, err := t.Probe(ctx)
	return err
}

// Probe makes the cheapest authenticated call the spec documents — GET
// the station ProbeIdentifier — and changes nothing. A 2xx or a 404 (no
// such station) means the portal accepted the credentials and reached
// Tyto. A failure is a *CheckError reading "HTTP 401: username/password
// incorrect or this host's IP is not whitelisted on the Tyto server",
// "HTTP 408: the portal cannot reach the Tyto server", another status with
// its meaning, or "cannot reach the portal: <cause>".
func (t *TenantConnector) Probe(ctx context.Context) (string, error) {
	status, _, err := t.do(ctx, call{op: opStationGet, method: http.MethodGet, tmpl: t.paths.Station, id: ProbeIdentifier,
		flow: "check", res: "-"})
	if err == nil || errors.Is(err, ErrStationMissing) {
		return fmt.Sprintf("GET %s: HTTP %d, credentials accepted", t.paths.Station, status), nil
	}
	var se *StatusError
	if errors.As(err, &se) {
		return "", &CheckError{Reason: fmt.Sprintf("HTTP %d: %v", se.Status, se.Reason), Err: err}
	}
	cause := err
	var f *connectors.Failure
	if errors.As(err, &f) {
		if c := errors.Unwrap(f.Err); c != nil {
			cause = c
		}
	}
	return "", &CheckError{Reason: "cannot reach the portal: " + cause.Error(), Err: err}
}

// Name is the tenant's name.
func (t *TenantConnector) Name() string { return t.name }

// PortalURL is the tenant's portal URL (it holds no credential).
func (t *TenantConnector) PortalURL() string { return t.base.Redacted() }
