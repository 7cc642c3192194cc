package export

import (
	"context"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// windowed names the source types selected by a time window, and the
// element holding the time.
var windowed = map[string]string{"Appointment": "start"}

// backRef says which resources point at a source resource and by which
// reference element: the export binds them to %bundle so a mapping can
// reach them (a Practitioner's PractitionerRoles carry its Locations and
// work contacts).
type backRef struct{ typ, elem string }

var backRefs = map[string]backRef{"Practitioner": {"PractitionerRole", "practitioner"}}

// span is the selection window of one export; zero for snapshot sources.
type span struct{ start, end time.Time }

// window returns the export's selection window at export time at, or the
// zero span when the mapping's source is exported whole.
func (j *job) window(at time.Time) span {
	if _, ok := windowed[j.Mapping.SourceType()]; !ok {
		return span{}
	}
	return span{at.Add(-j.before), at.Add(j.after)}
}

// selected is one resource to map.
type selected struct {
	id     string
	res    *fhir.Value
	bundle *fhir.Value // resources pointing at res (see backRefs), or nil
	bad    error       // the stored body is unreadable: refuse it
}

// each calls fn with every current resource of the mapping's source type
// that the export selects, in id order, decoded. Resources outside the
// window (or without a readable start) are counted in skipped.
func (j *job) each(ctx context.Context, st *store.Store, w span, skipped *int, fn func(selected) error) error {
	typ := j.Mapping.SourceType()
	related, err := relatedIndex(ctx, st, typ)
	if err != nil {
		return err
	}
	timeElem := windowed[typ]
	return st.Current(ctx, typ, func(id string, _ int, body []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fn(selected{id: id, bad: fmt.Errorf("stored %s/%s is not readable JSON", typ, id)})
		}
		if timeElem != "" {
			t, err := time.Parse(time.RFC3339Nano, res.GetString(timeElem))
			if err != nil || t.Before(w.start) || !t.Before(w.end) {
				*skipped++
				return nil
			}
		}
		sel := selected{id: id, res: res}
		if entries := related[id]; entries != nil {
			sel.bundle = fhir.NewObject()
			sel.bundle.Set("resourceType", fhir.NewString("Bundle"))
			sel.bundle.Set("type", fhir.NewString("collection"))
			sel.bundle.Set("entry", fhir.NewArray(entries...))
		}
		return fn(sel)
	})
}

// relatedIndex reads the resources that point at resources of typ (see
// backRefs), as Bundle entries keyed by the id they point at.
func relatedIndex(ctx context.Context, st *store.Store, typ string) (map[string][]*fhir.Value, error) {
	br, ok := backRefs[typ]
	if !ok {
		return nil, nil
	}
	idx := make(map[string][]*fhir.Value)
	err := st.Current(ctx, br.typ, func(id string, _ int, body []byte) error {
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("reading stored %s/%s: not readable JSON", br.typ, id)
		}
		refTyp, refID := splitRef(v.Get(br.elem).GetString("reference"))
		if refTyp != typ {
			return nil
		}
		entry := fhir.NewObject()
		entry.Set("fullUrl", fhir.NewString(br.typ+"/"+id))
		entry.Set("resource", v)
		idx[refID] = append(idx[refID], entry)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("indexing %s resources: %w", br.typ, err)
	}
	return idx, nil
}
