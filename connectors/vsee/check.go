package vsee

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// ProbeUser is the SSO body the connection test signs on: a fixed test
// member (code "fhirbridge-connection-test"), no patient's data.
var ProbeUser = User{FirstName: "Fhirbridge", LastName: "Connection-Test", Code: "fhirbridge-connection-test"}

// Check is Probe without the description (connectors.Checker).
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.Probe(ctx)
	return err
}

// Probe makes the cheapest authenticated call the spec has: POST
// /users/sso of ProbeUser (idempotent by code: it creates at most one
// test member, once). The token it returns is dropped. A failure reads
// "HTTP 401: VSee refused the bridge's credentials …", another status
// with its meaning, or "cannot reach VSee: <cause>".
func (c *Connector) Probe(ctx context.Context) (string, error) {
	_, _, err := c.SSO(ctx, ProbeUser)
	if err == nil {
		return "POST " + PathSSO + ": signed the test member on", nil
	}
	var se *StatusError
	if errors.As(err, &se) {
		return "", fmt.Errorf("HTTP %d: %w", se.Status, se.Reason)
	}
	cause := err
	var f *connectors.Failure
	if errors.As(err, &f) {
		cause = f.Err
	}
	return "", fmt.Errorf("cannot reach VSee: %w", cause)
}
