package solo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// This file reads back what Solo holds, for status and webhook events
// (issue 5, parts 1 and 2). The answers are returned as raw JSON: they
// carry patient data, so callers map them and never log them.

// AppointmentJSON returns Solo's appointment said (a SAID, or an
// externalId, which the same path accepts) as the raw JSON of
// GET /qapi/v1/appointments/{appointment_id}. A 404 is a permanent
// *StatusError; transport failures and 5xx are transient (see call).
func (c *Connector) AppointmentJSON(ctx context.Context, said string) ([]byte, error) {
	return c.rawGet(ctx, connectors.PathOf("/qapi/v1/appointments/{said}", said), "appointment")
}

// PatientJSONBySPID returns Solo's patient spid (Solo's own patient number,
// the patientId of webhook events) as the raw JSON of
// GET /qapi/v1/patients/id/type/SPID/value/{solo_patient_id}.
func (c *Connector) PatientJSONBySPID(ctx context.Context, spid string) ([]byte, error) {
	return c.rawGet(ctx, connectors.PathOf("/qapi/v1/patients/id/type/SPID/value/{spid}", spid), "patient")
}

// EpisodeJSON returns Solo's episode id as the raw JSON of
// GET /qapi/v1/episodes/{episode_id}.
func (c *Connector) EpisodeJSON(ctx context.Context, id string) ([]byte, error) {
	return c.rawGet(ctx, connectors.PathOf("/qapi/v1/episodes/{id}", id), "episode")
}

// rawGet GETs path and returns the answer body.
func (c *Connector) rawGet(ctx context.Context, path connectors.Path, what string) ([]byte, error) {
	_, data, err := c.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching solo %s: %w", what, err)
	}
	return data, nil
}
