package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// timed says how a source type is selected by time: by the element elem,
// inside the window around the export time ([t-Before, t+After)), or, for
// future, from the export time on ([t, t+After)).
type timed struct {
	elem   string
	future bool
}

// windowed names the source types selected by a time window. Slots are
// availabilities: only future ones are offered (B.1: "limited to
// availabilities in the future").
var windowed = map[string]timed{"Appointment": {elem: "start"}, "Slot": {elem: "start", future: true}}

// backRef says which resources point at a source resource and by which
// reference element: the export binds them to %bundle so a mapping can
// reach them (a Practitioner's PractitionerRoles carry its Locations and
// work contacts).
type backRef struct{ typ, elem string }

var backRefs = map[string]backRef{"Practitioner": {"PractitionerRole", "practitioner"}}

// hop binds %bundle for a source type through a resource it points at: a
// Slot's %bundle holds the back-references (backRefs) of its Schedule's
// Practitioner actor — the practitioner's PractitionerRoles, whose services
// a Schedule naming no HealthcareService offers.
type hop struct {
	via    string // the source's reference element ("schedule")
	actor  string // the reference element of the resource it points at ("actor")
	target string // the type of the actor taken (its backRefs are bound)
}

var hops = map[string]hop{"Slot": {via: "schedule", actor: "actor", target: "Practitioner"}}

// hopCacheSize bounds the via resources (Schedules) whose target a hop
// remembers; when full the cache is emptied.
const hopCacheSize = 4096

// span is the selection window of one export; zero for snapshot sources.
type span struct{ start, end time.Time }

// window returns the export's selection window at export time at, or the
// zero span when the mapping's source is exported whole.
func (j *job) window(at time.Time) span {
	t, ok := windowed[j.Mapping.SourceType()]
	if !ok {
		return span{}
	}
	if t.future {
		return span{at, at.Add(j.after)}
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
	h, viaHop := hops[typ]
	indexed := typ
	if viaHop {
		indexed = h.target
	}
	related, err := relatedIndex(ctx, st, indexed)
	if err != nil {
		return err
	}
	targets := make(map[string]string) // via id → target id, for hops
	timeElem := windowed[typ].elem
	if timeElem == "" {
		return st.Current(ctx, typ, func(id string, _ int, body []byte) error {
			return j.visit(ctx, st, id, body, "", w, skipped, viaHop, h, related, targets, fn)
		})
	}
	// A windowed source reads through the store's start index: only the
	// resources starting in (about) the window are read; the others count
	// as skipped, as they would after reading.
	total, err := st.CountCurrent(ctx, typ)
	if err != nil {
		return fmt.Errorf("counting %s for the export: %w", typ, err)
	}
	read := 0
	err = st.CurrentWhere(ctx, typ, store.Filter{StartFrom: w.start, StartBefore: w.end}, func(id string, _ int, body []byte) error {
		read++
		return j.visit(ctx, st, id, body, timeElem, w, skipped, viaHop, h, related, targets, fn)
	})
	if err != nil {
		return err
	}
	// Resources stored meanwhile may be in the count and not read (or
	// the reverse); skipped is a count for the report, never negative.
	*skipped += max(total-read, 0)
	return nil
}

// visit decodes one current resource of the mapping's source type and
// calls fn with it when it is inside the window w on timeElem ("" for no
// window), counting it in skipped otherwise.
func (j *job) visit(ctx context.Context, st *store.Store, id string, body []byte, timeElem string, w span, skipped *int,
	viaHop bool, h hop, related map[string][]*fhir.Value, targets map[string]string, fn func(selected) error) error {
	typ := j.Mapping.SourceType()
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
	key := id
	if viaHop {
		if key, err = hopTarget(ctx, st, h, res, targets); err != nil {
			return err
		}
	}
	if entries := related[key]; entries != nil {
		sel.bundle = fhir.NewObject()
		sel.bundle.Set("resourceType", fhir.NewString("Bundle"))
		sel.bundle.Set("type", fhir.NewString("collection"))
		sel.bundle.Set("entry", fhir.NewArray(entries...))
	}
	return fn(sel)
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
		refTyp, refID := fhir.SplitReference(v.Get(br.elem).GetString("reference"))
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

// hopTarget returns the id of the h.target actor of the resource res points
// at through h.via ("" when there is none), reading it from the store once
// per via resource (cached in targets).
func hopTarget(ctx context.Context, st *store.Store, h hop, res *fhir.Value, targets map[string]string) (string, error) {
	viaTyp, viaID := fhir.SplitReference(res.Get(h.via).GetString("reference"))
	if viaTyp == "" {
		return "", nil
	}
	key := viaTyp + "/" + viaID
	if t, ok := targets[key]; ok {
		return t, nil
	}
	target := ""
	body, _, err := st.GetResource(ctx, viaTyp, viaID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return "", fmt.Errorf("reading %s for the export: %w", key, err)
	default:
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return "", fmt.Errorf("reading stored %s: not readable JSON", key)
		}
		for _, a := range v.Get(h.actor).Items {
			if typ, id := fhir.SplitReference(a.GetString("reference")); typ == h.target {
				target = id
				break
			}
		}
	}
	if len(targets) >= hopCacheSize {
		clear(targets)
	}
	targets[key] = target
	return target, nil
}
