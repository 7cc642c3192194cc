package server

import (
	"fmt"
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// index records, after a write of typ/id, that it is live again and the
// identifiers its resource holds (first holder wins, as the store's
// identifier index does, unless that holder is deleted).
func (f *fakeBackend) index(typ, id string, res *fhir.Value) {
	if f.deleted == nil {
		f.deleted, f.idents = map[string]bool{}, map[string]string{}
	}
	delete(f.deleted, typ+"/"+id)
	if res == nil {
		return
	}
	idents := res.Get("identifier")
	if idents == nil {
		return
	}
	for _, ident := range idents.Items {
		k := typ + "|" + ident.GetString("system") + "|" + ident.GetString("value")
		if old, ok := f.idents[k]; !ok || f.deleted[typ+"/"+old] {
			f.idents[k] = id
		}
	}
}

// live reports whether typ/id is stored and not deleted.
func (f *fakeBackend) live(typ, id string) bool {
	_, ok := f.store[typ+"/"+id]
	return ok && !f.deleted[typ+"/"+id]
}

// match returns the live resources cond selects, sorted.
func (f *fakeBackend) match(typ string, cond *Condition) []string {
	var cands []string
	if len(cond.Identifiers) > 0 {
		for _, i := range cond.Identifiers {
			if id, ok := f.idents[typ+"|"+i.System+"|"+i.Value]; ok {
				cands = append(cands, id)
			}
		}
		if len(cond.IDs) > 0 {
			cands = slices.DeleteFunc(cands, func(id string) bool { return !slices.Contains(cond.IDs, id) })
		}
	} else {
		cands = append(cands, cond.IDs...)
	}
	cands = slices.DeleteFunc(cands, func(id string) bool { return !f.live(typ, id) })
	slices.Sort(cands)
	return slices.Compact(cands)
}

// conditionalEntry applies a DELETE or a conditional PUT as the Backend
// contract says.
func (f *fakeBackend) conditionalEntry(e Entry, at time.Time) (EntryResult, error) {
	if f.deleted == nil {
		f.deleted, f.idents = map[string]bool{}, map[string]string{}
	}
	id := e.ID
	if e.Condition != nil {
		ids := f.match(e.Type, e.Condition)
		switch {
		case len(ids) > 1:
			return EntryResult{}, fmt.Errorf("fake: %w", ErrMultipleMatches)
		case len(ids) == 1:
			id = ids[0]
			if e.Resource != nil && e.Resource.GetString("id") != "" && e.Resource.GetString("id") != id {
				return EntryResult{}, fmt.Errorf("fake: %w", ErrIDMismatch)
			}
		case e.Method == "DELETE":
			return EntryResult{Status: 204}, nil
		case e.Resource.GetString("id") != "":
			id = e.Resource.GetString("id")
		default:
			f.nextID++
			id = fmt.Sprintf("id%d", f.nextID)
		}
	}
	k := e.Type + "/" + id
	if e.IfMatch > 0 && f.store[k] != e.IfMatch {
		return EntryResult{}, fmt.Errorf("fake: %w", ErrPreconditionFailed)
	}
	if e.Method == "DELETE" {
		v, ok := f.store[k]
		if !ok {
			return EntryResult{}, fmt.Errorf("fake delete: %w", ErrNotFound)
		}
		if !f.deleted[k] {
			v++
			f.store[k], f.deleted[k] = v, true
		}
		return EntryResult{ID: id, Version: v, Status: 204, LastModified: at}, nil
	}
	er := EntryResult{ID: id, Version: f.store[k] + 1, LastModified: at}
	er.Created = er.Version == 1
	f.store[k] = er.Version
	f.index(e.Type, id, e.Resource)
	f.bodies[k] = representation(e.Resource, &er).JSON()
	return er, nil
}
