// Package catalog answers tuOtempO's read-only catalogue web services from
// FHIR: KeyEntities (guide B.2.1.2), every relation between insurances,
// activities, locations and practitioners in one list, and GetCenters
// (B.3), the centers the bridge books for.
//
// KeyEntities maps every stored PractitionerRole with the shipped mapping
// tuotempo/key-entities (one record per active role × HealthcareService it
// offers), references resolved from the store, restricted to the roles of
// the center asked for (a role at one of the center's Locations; a center
// without locations takes every role). GetCenters needs no mapping: its
// fields are the configured centers themselves.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// KeyEntitiesMapping is the shipped mapping KeyEntities answers with.
const KeyEntitiesMapping = "tuotempo/key-entities"

// maxRoleBytes bounds one stored PractitionerRole read back; a larger one
// is skipped (and logged by id).
const maxRoleBytes = 1 << 20

// KeyEntitiesFields are KeyEntities' record fields in the guide's order.
var KeyEntitiesFields = []ws.Field{
	{Name: "INSURANCE_LID", Max: 50, Doc: "ID of the insurance (only when the practitioner's role names exactly one)"},
	{Name: "INSURANCE_NAME", Max: 50, Doc: "Insurance name"},
	{Name: "ACTIVITY_GROUP_LID", Max: 50, Doc: "ID of the group of services"},
	{Name: "ACTIVITY_GROUP_NAME", Max: 50, Doc: "Name of the group of services"},
	{Name: "ACTIVITY_LID", Required: true, Max: 50, Doc: "ID of the activity"},
	{Name: "ACTIVITY_NAME", Required: true, Max: 50, Doc: "Name of the activity"},
	{Name: "ACTIVITY_PRICE", Max: 50, Doc: "Price of the activity for this resource (and insurance)"},
	{Name: "ACTIVITY_DURATION", Max: 50, Doc: "Duration of the activity in minutes"},
	{Name: "LOCATION_LID", Max: 50, Doc: "ID of the location"},
	{Name: "LOCATION_NAME", Max: 50, Doc: "Name of the location"},
	{Name: "RESOURCE_LID", Required: true, Max: 50, Doc: "ID of the resource (doctor)"},
	{Name: "RESOURCE_FIRST_NAME", Required: true, Max: 50, Doc: "First name of the resource"},
	{Name: "RESOURCE_SECOND_NAME", Max: 50, Doc: "Second name of the resource"},
}

// CenterFields are GetCenters' record fields in the guide's order.
var CenterFields = []ws.Field{
	{Name: "CENTER_LID", Required: true, Max: 50, Doc: "ID of the center"},
	{Name: "CENTER_NAME", Required: true, Doc: "Name of the center"},
	{Name: "DESCRIPTION", Doc: "Description of the center"},
	{Name: "ADDRESS", Doc: "Address of the center"},
	{Name: "PHONE", Doc: "Phone of the center"},
	{Name: "WEBSITE_URL", Doc: "Web site of the center"},
}

// Operations returns the KeyEntities and GetCenters operations over st
// for centers. The key-entities mapping is compiled once per center (its
// locations are the mapping's param). log may be nil.
func Operations(st *store.Store, centers []ws.Center, log *slog.Logger) ([]*ws.Operation, error) {
	if st == nil {
		return nil, errors.New("tuotempo catalog: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p, ok := shipped.Path(KeyEntitiesMapping)
	if !ok {
		return nil, fmt.Errorf("tuotempo catalog: shipped mapping %s missing", KeyEntitiesMapping)
	}
	byCenter := make(map[string]*mapping.Mapping, len(centers))
	for _, c := range centers {
		if c.LID == "" {
			return nil, errors.New("tuotempo catalog: a center has no lid")
		}
		if _, dup := byCenter[c.LID]; dup {
			return nil, fmt.Errorf("tuotempo catalog: center %q configured twice", c.LID)
		}
		for _, l := range c.Locations {
			if l == "" || strings.Contains(l, ",") {
				return nil, fmt.Errorf("tuotempo catalog: center %q: location id %q is empty or holds a comma", c.LID, l)
			}
		}
		m, err := mapping.Load(shipped.FS, p, map[string]string{"locations": strings.Join(c.Locations, ",")})
		if err != nil {
			return nil, fmt.Errorf("tuotempo catalog: center %q: loading %s: %w", c.LID, KeyEntitiesMapping, err)
		}
		byCenter[c.LID] = m
	}
	k := &keyEntities{st: st, maps: byCenter, log: log}
	centerList := append([]ws.Center(nil), centers...)
	return []*ws.Operation{
		{
			Name:    "KeyEntities",
			Section: "B.2.1.2",
			Doc:     "Every relation between insurances, activities (with price and duration), locations and resources (doctors) of the center: one record per doctor × activity.",
			Out:     KeyEntitiesFields,
			List:    true,
			Call:    k.call,
		},
		{
			Name:    "GetCenters",
			Section: "B.3",
			Doc:     "The centers this bridge books for, as configured.",
			Out:     CenterFields,
			List:    true,
			Call: func(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
				return centerRecords(centerList), nil
			},
		},
	}, nil
}

// centerRecords gives GetCenters' records, empty optional fields left out.
func centerRecords(centers []ws.Center) []ws.Record {
	out := make([]ws.Record, 0, len(centers))
	for _, c := range centers {
		r := ws.Record{"CENTER_LID": c.LID, "CENTER_NAME": c.Name}
		for k, v := range map[string]string{"DESCRIPTION": c.Description, "ADDRESS": c.Address, "PHONE": c.Phone, "WEBSITE_URL": c.WebsiteURL} {
			if v != "" {
				r[k] = v
			}
		}
		out = append(out, r)
	}
	return out
}

// keyEntities answers KeyEntities.
type keyEntities struct {
	st   *store.Store
	maps map[string]*mapping.Mapping
	log  *slog.Logger
}

// call maps every current PractitionerRole with the center's mapping. A
// role the mapping refuses (a dangling practitioner, an id too long) is
// left out and logged by id; a store failure fails the call.
func (k *keyEntities) call(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	m := k.maps[req.Center]
	if m == nil {
		return nil, ws.Errorf(ws.NotFound, "CENTER_LID", "no such center")
	}
	res := export.NewStoreResolver(ctx, k.st)
	var out []ws.Record
	skipped := 0
	err := k.st.Current(ctx, "PractitionerRole", func(id string, _ int, body []byte) error {
		if len(body) > maxRoleBytes {
			skipped++
			k.log.Warn("tuotempo KeyEntities: PractitionerRole too large, left out", "id", id, "bytes", len(body))
			return nil
		}
		role, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			skipped++
			k.log.Warn("tuotempo KeyEntities: stored PractitionerRole unreadable, left out", "id", id)
			return nil
		}
		recs, err := m.ApplyAll(role, res, nil)
		if err != nil {
			if rerr := res.Err(); rerr != nil {
				return rerr
			}
			skipped++
			k.log.Warn("tuotempo KeyEntities: PractitionerRole left out", "id", id, "err", err)
			return nil
		}
		for _, r := range recs {
			out = append(out, Record(r))
		}
		return nil
	})
	if err == nil {
		err = res.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("tuotempo KeyEntities for center %q: %w", req.Center, err)
	}
	k.log.Debug("tuotempo KeyEntities answered", "center", req.Center, "records", len(out), "roles_left_out", skipped)
	return out, nil
}

// Record turns a row-output mapping record into a ws.Record: strings as
// they are, numbers by their literal, booleans as true/false; nulls and
// nested values are left out.
func Record(v *fhir.Value) ws.Record {
	r := make(ws.Record, len(v.Members))
	for _, mb := range v.Members {
		switch mb.Value.Kind {
		case fhir.String, fhir.Number, fhir.Bool:
			r[mb.Key] = mb.Value.Str
		}
	}
	return r
}
