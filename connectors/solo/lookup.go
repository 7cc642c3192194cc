package solo

// Lookup before create (RELIABILITY §11, §14).
//
// What the spec offers:
//
//   - Patients: create requires a caller-chosen "id", and
//     GET /qapi/v1/patients/{patient_id} reads a patient by that id. The
//     connector sends the FHIR id as "id" (unless the mapping set one), so a
//     retried create first GETs /qapi/v1/patients/{FHIR id}: 200 means an
//     earlier attempt landed, and the connector PUTs the body instead of
//     POSTing (the answer to that GET carries no SPID, so Attributes["spid"]
//     is then missing). The spec offers no search by MRN: the only typed
//     lookup, /qapi/v1/patients/id/type/SPID/value/{spid}, needs the SPID.
//   - Appointments: the body's externalId is the FHIR id. The spec reads an
//     appointment by external id only through
//     GET /qapi/v1/appointments/{external_appointment_id}/video-call-links,
//     whose answer has no SAID. GET /qapi/v1/appointments/{appointment_id}
//     is documented with "the id of the Appointment"; by the pattern of the
//     other paths (plain segment = caller's id, /id/type/SAID/value/ = Solo's)
//     the connector tries it with the external id and accepts the answer
//     only when its externalId matches. When that fails but
//     video-call-links finds the appointment, the appointment exists and its
//     SAID cannot be learnt: the delivery fails Permanent with
//     ErrSAIDUnknown rather than creating a second one.
//
// Residual risk: Solo documents no idempotency key and no uniqueness of
// externalId, so two attempts that are in flight at the same time (a
// relay lease that expired while the first call was still running) can
// both miss the lookup and both create. The relay's lease must exceed the
// connector's Timeout to close that window.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// ErrSAIDUnknown: the appointment already exists at Solo (found by its
// externalId) but Solo did not reveal its SAID; reconcile by hand
// (Permanent).
var ErrSAIDUnknown = errors.New("appointment already exists at solo but its SAID cannot be read")

// patientExists reports whether Solo has a patient with the caller id.
func (c *Connector) patientExists(ctx context.Context, id string) (bool, error) {
	status, _, err := c.call(ctx, http.MethodGet, patientPath(id), nil)
	switch {
	case status == http.StatusNotFound:
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// findAppointment looks an appointment up by its external id.
func (c *Connector) findAppointment(ctx context.Context, ext string) (connectors.Result, bool, error) {
	status, data, err := c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/appointments/{externalId}", ext), nil)
	if err != nil && status != http.StatusNotFound {
		return connectors.Result{}, false, err
	}
	var got struct {
		ExternalID string `json:"externalId"`
	}
	matched := err == nil && json.Unmarshal(data, &got) == nil && got.ExternalID == ext
	said := ""
	if matched {
		said = answerID(data)
	}
	status, data, err = c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/appointments/{externalId}/video-call-links", ext), nil)
	if err != nil && status != http.StatusNotFound {
		return connectors.Result{}, false, err
	}
	links := err == nil
	switch {
	case said != "":
		res := connectors.Result{VendorID: said}
		var l struct {
			PatientVisitURL string `json:"patientVisitUrl"`
		}
		if links && json.Unmarshal(data, &l) == nil && l.PatientVisitURL != "" {
			res.Attributes = map[string]string{"visitUrl": l.PatientVisitURL}
		}
		return res, true, nil
	case links:
		return connectors.Result{}, false, connectors.Permanently(fmt.Errorf("externalId %s: %w", ext, ErrSAIDUnknown))
	}
	return connectors.Result{}, false, nil
}
