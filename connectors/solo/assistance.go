package solo

// Virtual nursing and sitting (spec "Virtual Nursing and Sitting", "Group
// Assistance Requests"):
//
//	solo/assistance-request  create  POST   /qapi/v1/request-assistance  {address} → the request
//	                         cancel  DELETE /qapi/v1/request-assistance  {address}
//	(status poll, solomod)           GET    /qapi/v1/request-assistance  {deviceSerialNumber}
//
// The mapped body is one address variant — deviceSerialNumber; building,
// floor, room (bed); or department, room (bed) — plus the control member
// "cancel" (true for a cancelled Task), which is not sent. Solo keys a
// request by its device, not by an id of ours: a create that may repeat
// an earlier attempt (Delivery.Fresh false) asks for the device's current
// request first and adopts it. A Task cancelled before it was ever
// delivered sends nothing; a later version of a delivered Task that is
// not cancelled sends nothing either (Solo has no update of a request).
//
// The request id is the vendor id (identifier urn:fhirbridge:solo:id on
// the Task); device, status, careLocation, careLocationId, createdAt and
// finishedAt come back as Result.Attributes (extensions
// urn:fhirbridge:solo:<name>). The status poll of solomod reads the
// device from there.

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

// FlowAssistance is the assistance-request flow (mapping name).
const FlowAssistance = "solo/assistance-request"

// assistancePath is the one path of the three assistance calls.
var assistancePath = connectors.PathOf("/qapi/v1/request-assistance")

// assistanceAddressKeys are the members of the address variants the spec
// documents; only these are sent.
var assistanceAddressKeys = []string{"deviceSerialNumber", "patientMrn", "building", "floor", "department", "room", "bed"}

// maxAssistanceAnswer bounds the answer parseAssistance reads.
const maxAssistanceAnswer = 1 << 20

// AssistanceRequest is an assistance request as Solo answers it (the
// fields the bridge keeps; the answer's patient is never read).
type AssistanceRequest struct {
	ID               string
	Device           string
	Status           string
	CareLocationID   string
	CareLocationName string
	CreatedAt        string
	FinishedAt       string // "" while open
}

// Attributes are the request's values as Result.Attributes (empty ones left out).
func (a AssistanceRequest) Attributes() map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{"device": a.Device, "status": a.Status, "careLocation": a.CareLocationName,
		"careLocationId": a.CareLocationID, "createdAt": a.CreatedAt, "finishedAt": a.FinishedAt} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// parseAssistance reads a request answer; an answer without an id is
// ErrBadAnswer.
func parseAssistance(data []byte) (AssistanceRequest, error) {
	if len(data) > maxAssistanceAnswer {
		return AssistanceRequest{}, fmt.Errorf("assistance answer of %d bytes, more than %d: %w", len(data), maxAssistanceAnswer, ErrBadAnswer)
	}
	var a struct {
		ID           string  `json:"id"`
		Device       string  `json:"device"`
		Status       string  `json:"status"`
		CreatedAt    *string `json:"createdAt"`
		FinishedAt   *string `json:"finishedAt"`
		CareLocation *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"careLocation"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return AssistanceRequest{}, fmt.Errorf("reading the assistance answer: %w", ErrBadAnswer)
	}
	if a.ID == "" {
		return AssistanceRequest{}, fmt.Errorf("assistance answer without id: %w", ErrBadAnswer)
	}
	out := AssistanceRequest{ID: a.ID, Device: a.Device, Status: a.Status}
	if a.CreatedAt != nil {
		out.CreatedAt = *a.CreatedAt
	}
	if a.FinishedAt != nil {
		out.FinishedAt = *a.FinishedAt
	}
	if a.CareLocation != nil {
		out.CareLocationID, out.CareLocationName = a.CareLocation.ID, a.CareLocation.Name
	}
	return out, nil
}

// isRequestNotFound reports Solo's "Request not found" answer (no current
// request for the address).
func isRequestNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound && strings.Contains(se.Message, "Request not found")
}

// assistanceCall makes one assistance call with address (a JSON object of
// one variant) and reads the request answered; found is false when Solo
// answers "Request not found".
func (c *Connector) assistanceCall(ctx context.Context, method string, address []byte) (AssistanceRequest, bool, error) {
	_, data, err := c.extDo(ctx, extRequest{method: method, path: assistancePath, body: address})
	if isRequestNotFound(err) {
		return AssistanceRequest{}, false, nil
	}
	if err != nil {
		return AssistanceRequest{}, false, err
	}
	a, err := parseAssistance(data)
	if err != nil {
		return AssistanceRequest{}, false, connectors.Transiently(err, 0)
	}
	return a, true, nil
}

// CreateAssistance opens an assistance request for address (one variant:
// {"deviceSerialNumber"}, {"building","floor","room","bed"},
// {"department","room","bed"} or {"patientMrn"}).
func (c *Connector) CreateAssistance(ctx context.Context, address []byte) (AssistanceRequest, error) {
	a, found, err := c.assistanceCall(ctx, http.MethodPost, address)
	switch {
	case err != nil:
		return AssistanceRequest{}, fmt.Errorf("creating assistance request: %w", err)
	case !found: // a create never answers "Request not found"; retry rather than lose it
		return AssistanceRequest{}, fmt.Errorf("creating assistance request: %w", connectors.Transiently(ErrBadAnswer, 0))
	}
	return a, nil
}

// CurrentAssistance returns the current request for address; found is
// false when there is none.
func (c *Connector) CurrentAssistance(ctx context.Context, address []byte) (AssistanceRequest, bool, error) {
	a, found, err := c.assistanceCall(ctx, http.MethodGet, address)
	if err != nil {
		return AssistanceRequest{}, false, fmt.Errorf("reading the current assistance request: %w", err)
	}
	return a, found, nil
}

// CancelAssistance cancels the current request for address; cancelled is
// false when there was none (already finished or cancelled).
func (c *Connector) CancelAssistance(ctx context.Context, address []byte) (cancelled bool, err error) {
	_, _, err = c.extDo(ctx, extRequest{method: http.MethodDelete, path: assistancePath, body: address})
	switch {
	case isRequestNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cancelling assistance request: %w", err)
	}
	return true, nil // the answer's body is not needed
}

// DeviceAddress is the device variant of an address.
func DeviceAddress(serial string) []byte {
	b := fhir.NewObject()
	b.Set("deviceSerialNumber", fhir.NewString(serial))
	return b.JSON()
}

// assistanceAddress keeps the address members of a mapped body.
func assistanceAddress(body *fhir.Value) ([]byte, bool) {
	out := fhir.NewObject()
	n := 0
	for _, k := range assistanceAddressKeys {
		if v := body.GetString(k); v != "" {
			out.Set(k, fhir.NewString(v))
			n++
		}
	}
	return out.JSON(), n > 0
}

// deliverAssistance creates or cancels an assistance request (flow
// solo/assistance-request).
func (c *Connector) deliverAssistance(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Body == nil {
		return connectors.Result{}, connectors.Permanently(errors.New("no mapped body"))
	}
	address, ok := assistanceAddress(d.Body)
	if !ok {
		return connectors.Result{}, connectors.Permanently(errors.New("assistance request without an address (deviceSerialNumber, building/floor/room or department/room)"))
	}
	cancel := d.Body.Get("cancel").True()
	switch {
	case cancel && d.VendorID == "": // never delivered: nothing to cancel
		return connectors.Result{}, nil
	case cancel:
		if _, err := c.CancelAssistance(ctx, address); err != nil {
			return connectors.Result{}, err
		}
		return connectors.Result{VendorID: d.VendorID, Attributes: map[string]string{"status": "cancelled"}}, nil
	case d.VendorID != "": // delivered: Solo has no update of a request
		return connectors.Result{VendorID: d.VendorID}, nil
	}
	if !d.Fresh {
		a, found, err := c.CurrentAssistance(ctx, address)
		if err != nil {
			return connectors.Result{}, fmt.Errorf("looking up the current request before create: %w", err)
		}
		if found {
			return connectors.Result{VendorID: a.ID, Attributes: a.Attributes()}, nil
		}
	}
	a, err := c.CreateAssistance(ctx, address)
	if err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{VendorID: a.ID, Attributes: a.Attributes()}, nil
}

func init() { registerFlow(FlowAssistance, (*Connector).deliverAssistance) }

// CheckAssistanceTask is the intake check of the solo/assistance-request
// route: a Task (not entered-in-error) must reference where the
// assistance is needed — a Location (Task.location) or a Device
// (Task.focus or Task.owner) — else it is refused, naming Task.location.
// Whether the Location chain gives a complete variant is the mapping's
// check at intake (its required fields), which has the references
// resolved.
func CheckAssistanceTask(res *fhir.Value) error {
	if res.GetString("status") == "entered-in-error" {
		return nil
	}
	for _, k := range []string{"location", "focus", "owner"} {
		if res.Get(k).GetString("reference") != "" {
			return nil
		}
	}
	return (&fhir.OperationOutcome{}).Add(fhir.CodeRequired, "Task.location",
		"a Teladoc Health Solo assistance request needs Task.location (a bed or room Location whose partOf chain names the floor and building, or the ward) or a Device with a serialNumber in Task.focus or Task.owner")
}
