package solo

// Episodes of care (spec "Episodes Of Care"):
//
//	solo/episode         create  POST /qapi/v1/patients/{patient id}/episodes   → {"episodeId"}
//	                     update  PUT  /qapi/v1/episodes/{episode id}
//	solo/episode-assign  any op  PUT  /qapi/v1/appointments/{SAID}/episode/assign {"episodeId"}
//
// An episode's vendor id is the episodeId Solo answers; Delivery.Parent is
// the Solo id of the EpisodeOfCare's patient (the route's Parent is
// "Patient", set by cmd/fhirbridge/flows.go).
//
// Solo keeps no caller id on an episode, so a create that may repeat an
// earlier attempt (Delivery.Fresh false) lists the patient's episodes and
// adopts the one with the same name, type and start date when there is
// exactly one (then PUTs the body onto it); two episodes alike in those
// three fields for one patient would be taken for the same one.
//
// Reassigning: Solo's PUT /qapi/v1/appointments/{id} does not take
// episodeOfCareId, so a change of an appointment's episode is sent through
// the episode/assign call. What triggers it is a route of Encounters
// through the mapping solo/episode-assign: each stored version of an
// Encounter that references both an Appointment and an EpisodeOfCare
// (Encounter.appointment, Encounter.episodeOfCare) maps to the two Solo ids
// read from those resources' urn:fhirbridge:solo:id identifiers, and the
// connector assigns the episode to the appointment (idempotent, so a
// version that did not change the episode costs one call and changes
// nothing). While either resource has no Solo id yet the delivery fails
// Transient with ErrNotDelivered and is retried.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// The episode flows (mapping names).
const (
	FlowEpisode       = "solo/episode"
	FlowEpisodeAssign = "solo/episode-assign"
)

// ErrNotDelivered: a record this one refers to (the appointment of an
// attachment or of an episode assignment, the episode of an assignment)
// has no Solo id yet; retried until it has (Transient).
var ErrNotDelivered = errors.New("a referenced record has no solo id yet")

// Episode is a Solo episode of care as the list, get and
// appointments-of-an-episode calls answer it.
type Episode struct {
	ID                string      `json:"id"`
	PatientID         string      `json:"patientId,omitempty"`
	Name              string      `json:"name"`
	Type              string      `json:"type"`
	From              string      `json:"from"`
	To                string      `json:"to,omitempty"`
	Status            string      `json:"status"`
	Objective         string      `json:"objective,omitempty"`
	ReasonIncomplete  string      `json:"reasonIncomplete,omitempty"`
	SoloPatientID     json.Number `json:"soloPatientId,omitempty"`
	ExternalPatientID string      `json:"externalPatientId,omitempty"`
}

// EpisodeAppointment is one appointment of an episode.
type EpisodeAppointment struct {
	AppointmentID   json.Number `json:"appointmentId"`
	Date            int64       `json:"date"`
	Reasons         []string    `json:"reasons"`
	HasNotes        bool        `json:"hasNotes"`
	EpisodeOfCareID string      `json:"episodeOfCareId"`
}

// CreateEpisode creates an episode (body: name, type, from, to, status,
// objective, reasonIncomplete) for the patient with the caller id
// patientID and returns Solo's episode id.
func (c *Connector) CreateEpisode(ctx context.Context, patientID string, body []byte) (string, error) {
	_, data, err := c.extDo(ctx, extRequest{method: http.MethodPost, path: connectors.PathOf("/qapi/v1/patients/{spid}/episodes", patientID), body: body})
	if err != nil {
		return "", fmt.Errorf("creating episode: %w", err)
	}
	var a struct {
		EpisodeID string `json:"episodeId"`
	}
	if json.Unmarshal(data, &a) != nil || a.EpisodeID == "" {
		return "", fmt.Errorf("creating episode: %w", connectors.Transiently(ErrBadAnswer, 0))
	}
	return a.EpisodeID, nil
}

// UpdateEpisode replaces the fields of episode id with body.
func (c *Connector) UpdateEpisode(ctx context.Context, id string, body []byte) error {
	if _, _, err := c.extDo(ctx, extRequest{method: http.MethodPut, path: connectors.PathOf("/qapi/v1/episodes/{id}", id), body: body}); err != nil {
		return fmt.Errorf("updating episode: %w", err)
	}
	return nil
}

// ListEpisodes returns the episodes of the patient with the caller id
// patientID.
func (c *Connector) ListEpisodes(ctx context.Context, patientID string) ([]Episode, error) {
	var a struct {
		Episodes []Episode `json:"episodes"`
	}
	if err := c.extGetJSON(ctx, connectors.PathOf("/qapi/v1/patients/{spid}/episodes", patientID), &a); err != nil {
		return nil, fmt.Errorf("listing episodes: %w", err)
	}
	return a.Episodes, nil
}

// GetEpisode returns episode id.
func (c *Connector) GetEpisode(ctx context.Context, id string) (Episode, error) {
	var e Episode
	if err := c.extGetJSON(ctx, connectors.PathOf("/qapi/v1/episodes/{id}", id), &e); err != nil {
		return Episode{}, fmt.Errorf("reading episode: %w", err)
	}
	return e, nil
}

// EpisodeAppointments returns episode id and its appointments.
func (c *Connector) EpisodeAppointments(ctx context.Context, id string) (Episode, []EpisodeAppointment, error) {
	var a struct {
		Episode      Episode              `json:"episode"`
		Appointments []EpisodeAppointment `json:"appointments"`
	}
	if err := c.extGetJSON(ctx, connectors.PathOf("/qapi/v1/episodes/{id}/appointments", id), &a); err != nil {
		return Episode{}, nil, fmt.Errorf("listing the appointments of an episode: %w", err)
	}
	return a.Episode, a.Appointments, nil
}

// AssignEpisode makes episodeID the episode of the appointment with SAID
// said; an empty episodeID sends {} (the spec marks episodeId optional).
func (c *Connector) AssignEpisode(ctx context.Context, said, episodeID string) error {
	body := fhir.NewObject()
	if episodeID != "" {
		body.Set("episodeId", fhir.NewString(episodeID))
	}
	if _, _, err := c.extDo(ctx, extRequest{method: http.MethodPut, path: connectors.PathOf("/qapi/v1/appointments/{said}/episode/assign", said), body: body.JSON()}); err != nil {
		return fmt.Errorf("assigning episode to appointment: %w", err)
	}
	return nil
}

// deliverEpisode creates or updates an episode (flow solo/episode).
func (c *Connector) deliverEpisode(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	switch d.Op {
	case connectors.Update:
		if d.VendorID == "" {
			return connectors.Result{}, connectors.Permanently(ErrNoVendorID)
		}
		if err := c.UpdateEpisode(ctx, d.VendorID, d.Body.JSON()); err != nil {
			return connectors.Result{}, err
		}
		return connectors.Result{VendorID: d.VendorID}, nil
	case connectors.Create:
	default:
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	if d.Parent == "" {
		return connectors.Result{}, connectors.Transiently(ErrNoParent, 0)
	}
	if !d.Fresh {
		id, err := c.findEpisode(ctx, d.Parent, d.Body)
		if err != nil {
			return connectors.Result{}, fmt.Errorf("looking up episode before create: %w", err)
		}
		if id != "" {
			if err := c.UpdateEpisode(ctx, id, d.Body.JSON()); err != nil {
				return connectors.Result{}, fmt.Errorf("updating the episode found before create: %w", err)
			}
			return connectors.Result{VendorID: id}, nil
		}
	}
	id, err := c.CreateEpisode(ctx, d.Parent, d.Body.JSON())
	if err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{VendorID: id}, nil
}

// findEpisode returns the id of the one episode of the patient with the
// body's name, type and from; "" when none or more than one.
func (c *Connector) findEpisode(ctx context.Context, patientID string, body *fhir.Value) (string, error) {
	eps, err := c.ListEpisodes(ctx, patientID)
	if err != nil {
		return "", err
	}
	found := ""
	for _, e := range eps {
		if e.Name == body.GetString("name") && e.Type == body.GetString("type") && e.From == body.GetString("from") {
			if found != "" {
				return "", nil
			}
			found = e.ID
		}
	}
	return found, nil
}

// deliverEpisodeAssign assigns an appointment's episode (flow
// solo/episode-assign). The body has appointmentId and episodeId (Solo
// ids) and appointment and episode (our ids, present when referenced).
func (c *Connector) deliverEpisodeAssign(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	said, ep := d.Body.GetString("appointmentId"), d.Body.GetString("episodeId")
	switch {
	case d.Body.GetString("appointment") == "" || d.Body.GetString("episode") == "":
		return connectors.Result{}, connectors.Permanently(errors.New("episode assignment needs an appointment and an episode reference"))
	case said == "":
		return connectors.Result{}, connectors.Transiently(fmt.Errorf("appointment %s: %w", d.Body.GetString("appointment"), ErrNotDelivered), 0)
	case ep == "":
		return connectors.Result{}, connectors.Transiently(fmt.Errorf("episode %s: %w", d.Body.GetString("episode"), ErrNotDelivered), 0)
	}
	if err := c.AssignEpisode(ctx, said, ep); err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{}, nil
}
