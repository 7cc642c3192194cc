package tyto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Errors of a delivery the connector refuses itself (errors.Is).
var (
	// ErrUnsupported: a flow the connector does not serve (Permanent).
	ErrUnsupported = errors.New("flow not supported by tyto")
	// ErrNoDependencyRecord: the portal lacks a station or clinician and
	// the mapped body carries no record to create it from (Permanent).
	ErrNoDependencyRecord = errors.New("no record in the mapped body to create it from")
)

// dependencies is the member of a visit or pairing body holding the
// records of what it needs; it is never sent.
const dependencies = "dependencies"

// Deliver performs d against the default tenant.
func (c *Connector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	return c.tenants[c.def].Deliver(ctx, d)
}

// Deliver performs d against the tenant. See the package documentation
// for the calls; errors are classified and carry no patient data.
func (t *TenantConnector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	var (
		res connectors.Result
		err error
	)
	switch {
	case d.Body == nil:
		err = connectors.Permanently(errors.New("no mapped body"))
	case d.Flow == FlowClinician:
		res, err = t.putClinician(ctx, d, d.Body)
	case d.Flow == FlowStation:
		res, err = t.deliverStation(ctx, d)
	case d.Flow == FlowDevice:
		res, err = t.pairDevice(ctx, d)
	case d.Flow == FlowVisit:
		res, err = t.deliverVisit(ctx, d)
	default:
		err = connectors.Permanently(ErrUnsupported)
	}
	if err != nil {
		return connectors.Result{}, fmt.Errorf("delivering %s %s of %s/%s: %w", d.Flow, d.Op, d.ResourceType, d.ResourceID, err)
	}
	return res, nil
}

func (t *TenantConnector) call(d connectors.Delivery, o op, method, tmpl, id string, body *fhir.Value) call {
	c := call{op: o, method: method, tmpl: tmpl, id: id, flow: d.Flow, res: d.ResourceType + "/" + d.ResourceID} // not a URL path: the resource, for the log line
	if body != nil {
		c.body = body.JSON()
	}
	return c
}

// putClinician creates or updates the clinician of body (PUT by identifier).
func (t *TenantConnector) putClinician(ctx context.Context, d connectors.Delivery, body *fhir.Value) (connectors.Result, error) {
	id := body.GetString("identifier")
	if _, _, err := t.do(ctx, t.call(d, opClinicianPut, http.MethodPut, t.paths.Clinician, id, without(body, dependencies))); err != nil {
		return connectors.Result{}, fmt.Errorf("putting clinician: %w", err)
	}
	return connectors.Result{VendorID: id}, nil
}

// deliverStation creates the station; an update (the spec has no station
// update) checks it still exists and creates it again when it does not.
func (t *TenantConnector) deliverStation(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	id := d.Body.GetString("identifier")
	if d.Op == connectors.Update && d.VendorID != "" {
		_, _, err := t.do(ctx, t.call(d, opStationGet, http.MethodGet, t.paths.Station, d.VendorID, nil))
		if err == nil {
			return connectors.Result{VendorID: d.VendorID}, nil
		}
		if !errors.Is(err, ErrStationMissing) {
			return connectors.Result{}, fmt.Errorf("retrieving station: %w", err)
		}
	}
	if err := t.createStation(ctx, d, d.Body); err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{VendorID: id}, nil
}

// createStation POSTs body; "already exists" (409) is success.
func (t *TenantConnector) createStation(ctx context.Context, d connectors.Delivery, body *fhir.Value) error {
	_, _, err := t.do(ctx, t.call(d, opStationCreate, http.MethodPost, t.paths.StationCreate, "", without(body, dependencies)))
	if err != nil && !errors.Is(err, ErrStationExists) {
		return fmt.Errorf("creating station: %w", err)
	}
	return nil
}

// pairDevice pairs the device with the station of its Device.location.
func (t *TenantConnector) pairDevice(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	station := d.Parents["Location"]
	if station == "" {
		station = d.Body.GetString("stationIdentifier")
	}
	body := without(d.Body, dependencies)
	pair := t.call(d, opPair, http.MethodPost, t.paths.DevicePair, station, body)
	_, _, err := t.do(ctx, pair)
	if errors.Is(err, ErrStationMissing) {
		if err = t.recreate(ctx, d, "station", station); err == nil {
			_, _, err = t.do(ctx, pair)
		}
	}
	if err != nil {
		return connectors.Result{}, fmt.Errorf("pairing device with station: %w", err)
	}
	id := body.GetString("identifier")
	if id == "" {
		id = body.GetString("serialNumber")
	}
	return connectors.Result{VendorID: id}, nil
}

// deliverVisit creates the visit under its clinician and station. The spec
// has no visit update: a later version of the Encounter is not sent.
func (t *TenantConnector) deliverVisit(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Op != connectors.Create && d.VendorID != "" {
		return connectors.Result{VendorID: d.VendorID}, nil
	}
	body := without(d.Body, dependencies)
	if v := d.Parents["Practitioner"]; v != "" {
		body = with(body, "clinicianIdentifier", fhir.NewString(v))
	}
	if v := d.Parents["Location"]; v != "" {
		body = with(body, "stationIdentifier", fhir.NewString(v))
	}
	id := body.GetString("identifier")
	create := t.call(d, opVisitCreate, http.MethodPost, t.paths.VisitCreate, "", body)
	_, data, err := t.do(ctx, create)
	if errors.Is(err, ErrDependencyMissing) {
		if err = t.recreate(ctx, d, "station", body.GetString("stationIdentifier")); err == nil {
			err = t.recreate(ctx, d, "clinician", body.GetString("clinicianIdentifier"))
		}
		if err == nil {
			_, data, err = t.do(ctx, create)
		}
	}
	var se *StatusError
	if errors.As(err, &se) && se.Status == http.StatusConflict && !d.Fresh {
		// an earlier attempt created it (409 to a repeated identifier is
		// the simulator's choice; the spec documents none)
		return connectors.Result{VendorID: id}, nil
	}
	if err != nil {
		return connectors.Result{}, fmt.Errorf("creating visit: %w", err)
	}
	return visitResult(data, id), nil
}

// recreate creates the station or clinician ("station", "clinician")
// named id again from the record in the body's dependencies: a station
// is first looked up (GET by identifier) and created only when missing; a
// clinician PUT is idempotent.
func (t *TenantConnector) recreate(ctx context.Context, d connectors.Delivery, kind, id string) error {
	if kind == "station" {
		_, _, err := t.do(ctx, t.call(d, opStationGet, http.MethodGet, t.paths.Station, id, nil))
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrStationMissing) {
			return fmt.Errorf("retrieving the %s the portal reported missing: %w", kind, err)
		}
	}
	rec := d.Body.Get(dependencies).Get(kind)
	if rec == nil || rec.Kind != fhir.Object || id == "" {
		return connectors.Permanently(fmt.Errorf("the %s does not exist at the portal: %w", kind, ErrNoDependencyRecord))
	}
	rec = with(rec, "identifier", fhir.NewString(id))
	var err error
	if kind == "station" {
		err = t.createStation(ctx, d, rec)
	} else {
		_, err = t.putClinician(ctx, d, rec)
	}
	if err != nil {
		return connectors.Permanently(fmt.Errorf("the %s does not exist at the portal and could not be created again: %w", kind, err))
	}
	return nil
}

// visitResult reads the portal's answer: its "id" (else the identifier
// sent) is the vendor id; "status" and the identifier are attributes.
func visitResult(data []byte, identifier string) connectors.Result {
	var a struct {
		ID     any    `json:"id"`
		Status string `json:"status"`
	}
	_ = json.Unmarshal(data, &a)
	res := connectors.Result{VendorID: identifier, Attributes: map[string]string{}}
	switch v := a.ID.(type) {
	case string:
		if v != "" {
			res.VendorID = v
		}
	case float64:
		res.VendorID = fmt.Sprint(v)
	}
	if a.Status != "" {
		res.Attributes["status"] = a.Status
	}
	if identifier != "" && identifier != res.VendorID {
		res.Attributes["identifier"] = identifier
	}
	if len(res.Attributes) == 0 {
		res.Attributes = nil
	}
	return res
}

// with returns a shallow copy of obj with key set to v.
func with(obj *fhir.Value, key string, v *fhir.Value) *fhir.Value {
	cp := *obj
	cp.Members = append([]fhir.Member(nil), obj.Members...)
	cp.Set(key, v)
	return &cp
}

// without returns obj, or a shallow copy of it without key.
func without(obj *fhir.Value, key string) *fhir.Value {
	if obj == nil || obj.Get(key) == nil {
		return obj
	}
	cp := *obj
	cp.Members = nil
	for _, m := range obj.Members {
		if m.Key != key {
			cp.Members = append(cp.Members, m)
		}
	}
	return &cp
}
