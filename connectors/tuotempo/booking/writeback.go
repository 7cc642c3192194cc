package booking

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Flow is the worker flow that sends bookings, moves and cancellations to
// the EHR as FHIR transaction Bundles.
const Flow = "tuotempo-booking"

// Flows returns the write-back flow for the EHR endpoint ep (the shared
// ehr section), for bridge.FlowProvider.
func (s *Service) Flows(ep *ehr.Endpoint) (map[string]delivery.Flow, error) { return Flows(s.cfg, ep) }

// Flows is the write-back flow of the online section cfg to the EHR ep;
// it needs no Service (the runtime builds flows before serve opens one).
func Flows(cfg *Config, ep *ehr.Endpoint) (map[string]delivery.Flow, error) {
	if ep == nil {
		return nil, fmt.Errorf("tuotempo booking: the write-back needs the ehr section")
	}
	conn, err := ehr.New(*ep)
	if err != nil {
		return nil, err
	}
	return map[string]delivery.Flow{Flow: {Vendor: "ehr", Work: func(ctx context.Context, w delivery.Work) error {
		var wb writeBack
		if err := json.Unmarshal(w.Data, &wb); err != nil {
			return connectors.Permanently(fmt.Errorf("tuotempo booking job %d: decoding: %w", w.JobID, err))
		}
		b, err := buildBundle(ctx, w.Store, wb, cfg.IDNumberSystem)
		if err != nil {
			return err
		}
		return conn.Transaction(ctx, "Appointment/"+wb.Appointment+" "+w.Kind+" transaction", b)
	}}}, nil
}

// buildBundle makes the transaction Bundle of a write-back from the
// current stored versions: a Patient the booking created as a conditional
// create (ifNoneExist on its first identifier; a urn:uuid the Appointment
// points to), then PUT Appointment and PUT of each Slot.
func buildBundle(ctx context.Context, st *store.Store, wb writeBack, idSystem string) (*fhir.Value, error) {
	get := func(typ, id string) (*fhir.Value, error) {
		body, _, err := st.GetResource(ctx, typ, id)
		if err != nil {
			return nil, fmt.Errorf("tuotempo booking write-back: reading %s/%s: %w", typ, id, err)
		}
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil, connectors.Permanently(fmt.Errorf("tuotempo booking write-back: decoding %s/%s: %w", typ, id, err))
		}
		return ehr.ForEHR(v), nil
	}
	entry := func(full string, res *fhir.Value, method, url, ifNone string) *fhir.Value {
		e := fhir.NewObject()
		if full != "" {
			e.Set("fullUrl", fhir.NewString(full))
		}
		e.Set("resource", res)
		r := fhir.NewObject()
		r.Set("method", fhir.NewString(method))
		r.Set("url", fhir.NewString(url))
		if ifNone != "" {
			r.Set("ifNoneExist", fhir.NewString(ifNone))
		}
		e.Set("request", r)
		return e
	}
	var entries []*fhir.Value
	app, err := get("Appointment", wb.Appointment)
	if err != nil {
		return nil, err
	}
	if wb.Patient != "" {
		pat, err := get("Patient", wb.Patient)
		if err != nil {
			return nil, err
		}
		ifNone := ""
		if ids := pat.Get("identifier"); ids != nil && ids.Kind == fhir.Array && len(ids.Items) > 0 {
			ifNone = "identifier=" + fhir.QuerySearchValue(ids.Items[0].GetString("system")) + "|" + fhir.QuerySearchValue(ids.Items[0].GetString("value"))
		}
		if ifNone != "" {
			uuid := "urn:uuid:" + uuidOf(wb.Patient)
			entries = append(entries, entry(uuid, with(pat, "id", nil), "POST", "Patient", ifNone))
			app = repoint(app, "Patient/"+wb.Patient, uuid)
		} else {
			entries = append(entries, entry("", pat, "PUT", "Patient/"+wb.Patient, ""))
		}
	}
	entries = append(entries, entry("", app, "PUT", "Appointment/"+wb.Appointment, ""))
	for _, sl := range wb.Slots {
		slot, err := get("Slot", sl)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry("", slot, "PUT", "Slot/"+sl, ""))
	}
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("transaction"))
	b.Set("entry", fhir.NewArray(entries...))
	return b, nil
}

// uuidOf formats a 32-hex-digit id as a UUID (ids of other shapes are
// hashed into one).
func uuidOf(id string) string {
	h := id
	if len(h) != 32 {
		h = requestKey(id, "", nil)[4:36]
	}
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// repoint returns app with the participant reference from changed to to.
func repoint(app *fhir.Value, from, to string) *fhir.Value {
	parts := app.Get("participant")
	if parts == nil || parts.Kind != fhir.Array {
		return app
	}
	var items []*fhir.Value
	for _, p := range parts.Items {
		if p.Get("actor").GetString("reference") == from {
			p = with(p, "actor", ref(to))
		}
		items = append(items, p)
	}
	return with(app, "participant", fhir.NewArray(items...))
}
