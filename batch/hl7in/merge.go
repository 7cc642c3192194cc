package hl7in

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// mergeA40 returns req with every conditional PUT of a Patient that
// carries a "replaced-by" link (the merged-away Patient of an A40) turned
// into a PUT of the one stored Patient its condition matches: the stored
// resource with all its elements, active false, and the mapped
// identifiers and links it lacks added, conditioned (If-Match) on the
// version read, so that a concurrent update fails the commit with
// ErrPreconditionFailed instead of being overwritten. An entry whose
// condition matches nothing stays as mapped (it creates the Patient);
// one matching several stays too (the commit refuses it). merged reports
// whether any entry was changed. req itself is not modified.
func (h *Handler) mergeA40(ctx context.Context, req *server.Request) (*server.Request, bool, error) {
	if h.Store == nil {
		return req, false, nil
	}
	var out *server.Request
	for i, e := range req.Entries {
		if e.Method != "PUT" || e.Type != "Patient" || e.Condition == nil || !replacedBy(e.Resource) {
			continue
		}
		id, body, version, err := h.matchOne(ctx, e.Condition)
		if err != nil {
			return nil, false, err
		}
		if id == "" {
			continue
		}
		stored, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil, false, fmt.Errorf("hl7in: reading the stored Patient to merge: %w", err)
		}
		if out == nil {
			c := *req
			c.Entries = slices.Clone(req.Entries)
			out = &c
		}
		out.Entries[i] = server.Entry{Method: "PUT", Type: "Patient", ID: id, IfMatch: version,
			Resource: mergePatient(stored, e.Resource), FullURL: e.FullURL, Index: e.Index}
	}
	if out == nil {
		return req, false, nil
	}
	return out, true, nil
}

// replacedBy reports whether a Patient has a link of type replaced-by.
func replacedBy(p *fhir.Value) bool {
	if l := p.Get("link"); l != nil && l.Kind == fhir.Array {
		for _, it := range l.Items {
			if it.GetString("type") == "replaced-by" {
				return true
			}
		}
	}
	return false
}

// matchOne returns the one live Patient that cond selects, with its
// stored body and version; id "" when none or more than one does.
func (h *Handler) matchOne(ctx context.Context, cond *server.Condition) (id string, body []byte, version int, err error) {
	err = h.Store.InTx(ctx, func(tx *store.Tx) error {
		var ids []string
		for _, ident := range cond.Identifiers {
			found, err := tx.FindByIdentifier(ctx, "Patient", ident.System, ident.Value)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("hl7in: matching the merged Patient: %w", err)
			}
			if (len(cond.IDs) == 0 || slices.Contains(cond.IDs, found)) && !slices.Contains(ids, found) {
				ids = append(ids, found)
			}
		}
		if len(cond.Identifiers) == 0 {
			ids = slices.Clone(cond.IDs)
		}
		for _, cand := range ids {
			b, v, err := tx.GetResource(ctx, "Patient", cand)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted
			}
			if err != nil {
				return fmt.Errorf("hl7in: reading the merged Patient: %w", err)
			}
			if id != "" {
				id = ""
				return nil // several: leave it to the commit to refuse
			}
			id, body, version = cand, b, v
		}
		return nil
	})
	if err != nil {
		return "", nil, 0, err
	}
	return id, body, version, nil
}

// mergePatient returns stored with active false and the identifiers and
// links of mapped that it does not hold yet appended.
func mergePatient(stored, mapped *fhir.Value) *fhir.Value {
	stored.Set("active", fhir.NewBool(false))
	for _, key := range []string{"identifier", "link"} {
		add := mapped.Get(key)
		if add == nil || add.Kind != fhir.Array {
			continue
		}
		cur := stored.Get(key)
		if cur == nil || cur.Kind != fhir.Array {
			cur = fhir.NewArray()
		}
		for _, it := range add.Items {
			if !slices.ContainsFunc(cur.Items, func(c *fhir.Value) bool { return same(key, c, it) }) {
				cur.Items = append(cur.Items, it)
			}
		}
		stored.Set(key, cur)
	}
	return stored
}

// same reports whether two identifiers (same system and value) or two
// links (same JSON) are the same.
func same(key string, a, b *fhir.Value) bool {
	if key == "identifier" {
		return a.GetString("system") == b.GetString("system") && a.GetString("value") == b.GetString("value")
	}
	return fhir.CanonicalHash(a) == fhir.CanonicalHash(b)
}
