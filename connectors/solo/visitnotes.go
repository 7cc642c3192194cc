package solo

// Visit notes (spec "Appointment Note"):
//
//	VisitNoteJSON            GET /qapi/v1/appointments/{SAID}/visit-note  → [note per template]
//	solo/visit-note-update   create, update  PUT /qapi/v1/appointments/{SAID}/visit-note {"name", "questions": [{"id", "value"}]}
//
// The status flow (connectors/solo/solostatus) reads notes back once an
// appointment is finished. The forward flow takes the body built by the
// shipped mapping solo/visit-note-update from a QuestionnaireResponse:
// appointment (our Appointment id) and appointmentId (its SAID, read from
// the Appointment's urn:fhirbridge:solo:id identifier, which the
// appointment's delivery writes back), name and questions, which are sent.
// While the Appointment has no SAID the delivery fails Transient with
// ErrNotDelivered and is retried. The PUT sets answers and is idempotent,
// so a retry after an attempt that reached Solo changes nothing.

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// FlowVisitNoteUpdate is the visit-note update flow (mapping name).
const FlowVisitNoteUpdate = "solo/visit-note-update"

func init() {
	registerFlow(FlowVisitNoteUpdate, (*Connector).deliverVisitNoteUpdate)
}

// VisitNoteJSON returns Solo's answer to GET the visit notes of
// appointment said: a JSON array, one note per template. A 404 (no such
// appointment, or no note) comes back as a permanent *StatusError.
func (c *Connector) VisitNoteJSON(ctx context.Context, said string) ([]byte, error) {
	_, data, err := c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/appointments/{said}/visit-note", said), nil)
	if err != nil {
		return nil, fmt.Errorf("reading visit note: %w", err)
	}
	return data, nil
}

// UpdateVisitNote PUTs body ({"name", "questions"}) to the visit note of
// appointment said.
func (c *Connector) UpdateVisitNote(ctx context.Context, said string, body []byte) error {
	if _, _, err := c.call(ctx, http.MethodPut, connectors.PathOf("/qapi/v1/appointments/{said}/visit-note", said), body); err != nil {
		return fmt.Errorf("updating visit note: %w", err)
	}
	return nil
}

// deliverVisitNoteUpdate sends a QuestionnaireResponse's answers to the
// visit note of its appointment (flow solo/visit-note-update).
func (c *Connector) deliverVisitNoteUpdate(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Op != connectors.Create && d.Op != connectors.Update {
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	appt, said := d.Body.GetString("appointment"), d.Body.GetString("appointmentId")
	switch {
	case appt == "":
		return connectors.Result{}, connectors.Permanently(errors.New("visit note update needs an appointment reference"))
	case said == "":
		return connectors.Result{}, connectors.Transiently(fmt.Errorf("appointment %s: %w", appt, ErrNotDelivered), 0)
	}
	body := fhir.NewObject()
	body.Set("name", d.Body.Get("name"))
	body.Set("questions", d.Body.Get("questions"))
	if err := c.UpdateVisitNote(ctx, said, body.JSON()); err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{}, nil
}
