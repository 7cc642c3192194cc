package solo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// The flows the connector serves.
const (
	FlowPatient     = "solo/patient"
	FlowAppointment = "solo/appointment"
)

// Errors a caller may branch on with errors.Is (each arrives classified).
var (
	// ErrUnsupported: the flow/op pair is not one Solo offers (Permanent).
	ErrUnsupported = errors.New("flow and operation not supported by solo")
	// ErrNoVendorID: an update or cancel without the Solo id (Permanent).
	ErrNoVendorID = errors.New("no solo id known for the record")
	// ErrNoParent: an appointment create without the Solo patient id; the
	// patient is probably not delivered yet (Transient).
	ErrNoParent = errors.New("no solo patient id known for the appointment's patient")
	// ErrBadAnswer: a 2xx answer without the expected id (Transient: a
	// retry looks the record up before creating it again).
	ErrBadAnswer = errors.New("solo answer has no usable id")
)

// updatableAppointment lists the fields PUT /qapi/v1/appointments/{id}
// accepts; the create-only ones (waitingRoom, episodeOfCareId) are dropped.
var updatableAppointment = map[string]bool{
	"date": true, "duration": true, "externalId": true, "reasons": true, "accountNumber": true,
}

// Deliver performs d against Solo. See the package documentation for the
// calls made; errors are classified and carry no patient data.
func (c *Connector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	var (
		res connectors.Result
		err error
	)
	fn, ok := flows[d.Flow]
	switch {
	case d.Body == nil && d.Op != connectors.Cancel:
		err = connectors.Permanently(errors.New("no mapped body"))
	case !ok:
		err = connectors.Permanently(ErrUnsupported)
	default:
		res, err = fn(c, ctx, d)
	}
	if err != nil {
		return connectors.Result{}, fmt.Errorf("delivering %s %s of %s/%s: %w", d.Flow, d.Op, d.ResourceType, d.ResourceID, err)
	}
	return res, nil
}

// deliverFunc delivers one job of a flow.
type deliverFunc func(c *Connector, ctx context.Context, d connectors.Delivery) (connectors.Result, error)

// flows are the delivery functions by flow (the shipped mapping's name);
// each flow's file registers its own with registerFlow.
var flows = map[string]deliverFunc{}

// registerFlow makes fn deliver the jobs of flow; a second registration of
// one flow is a programming error.
func registerFlow(flow string, fn deliverFunc) {
	if _, dup := flows[flow]; dup {
		panic("solo: flow " + flow + " registered twice")
	}
	flows[flow] = fn
}

func init() {
	registerFlow(FlowPatient, func(c *Connector, ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
		if d.Op == connectors.Create {
			return c.createPatient(ctx, d)
		}
		if d.Op == connectors.Update {
			return c.updatePatient(ctx, d)
		}
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	})
	registerFlow(FlowAppointment, func(c *Connector, ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
		if d.Op == connectors.Create {
			return c.createAppointment(ctx, d)
		}
		return c.updateAppointment(ctx, d) // update and cancel
	})
	registerFlow(FlowEpisode, (*Connector).deliverEpisode)
	registerFlow(FlowEpisodeAssign, (*Connector).deliverEpisodeAssign)
	registerFlow(FlowAttachment, (*Connector).deliverAttachment)
	registerFlow(FlowQuestionnaireDocument, (*Connector).deliverDocument)
}

// Check lists the practice's waiting rooms, the cheapest authenticated
// read the API documents.
func (c *Connector) Check(ctx context.Context) error {
	if _, _, err := c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/waiting-rooms"), nil); err != nil {
		return fmt.Errorf("checking solo connection: %w", err)
	}
	return nil
}

func (c *Connector) createPatient(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	body := d.Body
	id := body.GetString("id")
	if id == "" {
		id = d.ResourceID
		body = with(body, "id", fhir.NewString(id))
	}
	if id == "" {
		return connectors.Result{}, connectors.Permanently(errors.New("no patient id to send (Solo requires id)"))
	}
	if !d.Fresh {
		found, err := c.patientExists(ctx, id)
		if err != nil {
			return connectors.Result{}, fmt.Errorf("looking up patient before create: %w", err)
		}
		if found { // an earlier attempt (or another feed) created it: bring it up to date
			if _, _, err := c.call(ctx, http.MethodPut, patientPath(id), d.Body.JSON()); err != nil {
				return connectors.Result{}, fmt.Errorf("updating the patient found before create: %w", err)
			}
			return connectors.Result{VendorID: id}, nil
		}
	}
	_, data, err := c.call(ctx, http.MethodPost, connectors.PathOf("/qapi/v1/patients"), body.JSON())
	if err != nil {
		return connectors.Result{}, fmt.Errorf("creating patient: %w", err)
	}
	res := connectors.Result{VendorID: id}
	if spid := answerID(data); spid != "" {
		res.Attributes = map[string]string{"spid": spid}
	}
	return res, nil
}

func (c *Connector) updatePatient(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.VendorID == "" {
		return connectors.Result{}, connectors.Permanently(ErrNoVendorID)
	}
	if _, _, err := c.call(ctx, http.MethodPut, patientPath(d.VendorID), d.Body.JSON()); err != nil {
		return connectors.Result{}, fmt.Errorf("updating patient: %w", err)
	}
	return connectors.Result{VendorID: d.VendorID}, nil
}

func (c *Connector) createAppointment(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Parent == "" {
		return connectors.Result{}, connectors.Transiently(ErrNoParent, 0)
	}
	body := d.Body
	ext := body.GetString("externalId")
	if ext == "" && d.ResourceID != "" {
		ext = d.ResourceID
		body = with(body, "externalId", fhir.NewString(ext))
	}
	if !d.Fresh && ext != "" {
		res, found, err := c.findAppointment(ctx, ext)
		if err != nil {
			return connectors.Result{}, fmt.Errorf("looking up appointment before create: %w", err)
		}
		if found {
			return res, nil
		}
	}
	_, data, err := c.call(ctx, http.MethodPost, connectors.PathOf("/qapi/v1/patients/{spid}/appointments", d.Parent), body.JSON())
	if err != nil {
		return connectors.Result{}, fmt.Errorf("creating appointment: %w", err)
	}
	return appointmentResult(data, "")
}

func (c *Connector) updateAppointment(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.VendorID == "" {
		return connectors.Result{}, connectors.Permanently(ErrNoVendorID)
	}
	body, action := fhir.NewObject(), "updating appointment"
	if d.Op == connectors.Cancel {
		action = "cancelling appointment"
		body.Set("status", fhir.NewString("cancelled"))
	} else {
		for _, m := range d.Body.Members {
			if updatableAppointment[m.Key] {
				body.Set(m.Key, m.Value)
			}
		}
	}
	path := connectors.PathOf("/qapi/v1/appointments/{said}", d.VendorID)
	_, data, err := c.call(ctx, http.MethodPut, path, body.JSON())
	if err != nil {
		return connectors.Result{}, fmt.Errorf("%s: %w", action, err)
	}
	res, err := appointmentResult(data, d.VendorID)
	if err != nil { // the update happened; an odd answer body is not a failure
		return connectors.Result{VendorID: d.VendorID}, nil
	}
	return res, nil
}

// appointmentResult reads Solo's {"id", "visitUrl"} answer; fallback is
// the id to use when the answer has none ("" makes that an error).
func appointmentResult(data []byte, fallback string) (connectors.Result, error) {
	id := answerID(data)
	if id == "" {
		id = fallback
	}
	if id == "" {
		return connectors.Result{}, connectors.Transiently(ErrBadAnswer, 0)
	}
	res := connectors.Result{VendorID: id}
	var a struct {
		VisitURL string `json:"visitUrl"`
	}
	if json.Unmarshal(data, &a) == nil && a.VisitURL != "" {
		res.Attributes = map[string]string{"visitUrl": a.VisitURL}
	}
	return res, nil
}

// answerID returns the id of a Solo answer: a bare number or string (the
// create-patient SPID) or the "id" member of an object; "" when none.
func answerID(data []byte) string {
	var raw json.RawMessage = data
	var obj struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(data, &obj) == nil && obj.ID != nil {
		raw = obj.ID
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	return ""
}

// patientPath is the path of the patient id (an SPID).
func patientPath(id string) connectors.Path { return connectors.PathOf("/qapi/v1/patients/{spid}", id) }

// with returns a shallow copy of obj with key set to v; obj is shared and
// left untouched.
func with(obj *fhir.Value, key string, v *fhir.Value) *fhir.Value {
	cp := *obj
	cp.Members = append([]fhir.Member(nil), obj.Members...)
	cp.Set(key, v)
	return &cp
}
