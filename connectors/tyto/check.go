package tyto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ProbeIdentifier is the station identifier the connection test retrieves:
// a station that need not exist (404 proves the credentials work).
const ProbeIdentifier = "fhirbridge-connection-test"

// Check tests every tenant (connectors.Checker); the first failure is
// returned, naming its tenant.
func (c *Connector) Check(ctx context.Context) error {
	var errs []error
	for _, name := range c.TenantNames() {
		if err := c.tenants[name].Check(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check makes the cheapest authenticated call the spec documents — GET
// the station ProbeIdentifier — and changes nothing. A 2xx or a 404
// (the station does not exist) means the portal accepted the credentials
// and reached Tyto. A failure is classified and reads in the spec's words:
// "HTTP 401: username/password incorrect or this host's IP is not
// whitelisted on the Tyto server", "HTTP 408: the portal cannot reach the
// Tyto server", or why the portal itself could not be reached.
func (t *TenantConnector) Check(ctx context.Context) error {
	_, _, err := t.do(ctx, call{op: opStationGet, method: http.MethodGet, tmpl: t.paths.Station, id: ProbeIdentifier,
		flow: "check", res: "-"})
	if err == nil || errors.Is(err, ErrStationMissing) {
		return nil
	}
	return fmt.Errorf("tyto tenant %s: %w", t.name, err)
}
