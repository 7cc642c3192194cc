package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// DeleteRouter is a Router that also queues the deliveries of deletions.
// RouteDelete is called inside the ingest transaction with the deletion's
// version and last, the resource's last live body (kept in that version).
// A Router that is not a DeleteRouter cannot take deletions: the Backend
// refuses them (422) rather than drop them.
type DeleteRouter interface {
	RouteDelete(ctx context.Context, tx *store.Tx, typ, id string, version int, last *fhir.Value) error
}

// routeDelete hands a deletion to the Router.
func (b *Backend) routeDelete(ctx context.Context, tx *store.Tx, typ, id string, version int, last *fhir.Value) error {
	dr, ok := b.Router.(DeleteRouter)
	if !ok {
		oo := (&fhir.OperationOutcome{}).Add("not-supported", "",
			"this endpoint's router cannot deliver deletions; nothing was deleted")
		return fmt.Errorf("%w: %w", server.ErrRefused, oo)
	}
	return dr.RouteDelete(ctx, tx, typ, id, version, last)
}

// deleteEntry deletes the resource of entry e (of a request of kind)
// whose id is id, under its If-Match when it has one, and returns its
// entry result and, when a deletion was stored, the last live body to
// route. A resource already
// deleted is answered 204 with its current version and nothing to route;
// id "" (a conditional delete that matched nothing) is 204 with nothing
// done; a resource never stored is ErrNotFound.
func deleteEntry(ctx context.Context, tx *store.Tx, kind string, e *server.Entry, id string) (server.EntryResult, *fhir.Value, error) {
	typ := e.Type
	er := server.EntryResult{ID: id, Status: 204}
	if id == "" {
		return er, nil, nil
	}
	v, body, err := tx.DeleteResourceIfMatch(ctx, typ, id, e.IfMatch)
	if errors.Is(err, store.ErrPreconditionFailed) {
		return er, nil, preconditionFailed(kind, e, err)
	}
	if err != nil {
		return er, nil, fmt.Errorf("deleting %s: %w", typ, err)
	}
	er.Version = v
	if body == nil { // already deleted: nothing new to route
		return er, nil, nil
	}
	last, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil || last.Kind != fhir.Object {
		return er, nil, fmt.Errorf("deleting %s/%s: the stored body is not readable JSON", typ, id)
	}
	return er, last, nil
}

// resolve finds the resource a conditional PUT or DELETE entry acts on
// (see server.Entry.Condition) and returns its id: the one match; for a
// PUT that matched nothing, the resource's own id or a new one, for which
// the condition's identifiers are claimed (so that a concurrent twin
// finds it, as for a conditional create; claimed records them); for a
// DELETE that matched nothing, "".
func (b *Backend) resolve(ctx context.Context, tx *store.Tx, e server.Entry, claimed map[[3]string]string) (string, map[[3]string]string, error) {
	ids, err := match(ctx, tx, e.Type, e.Condition)
	if err != nil {
		return "", claimed, err
	}
	own := ""
	if e.Resource != nil {
		own = e.Resource.GetString("id")
	}
	switch {
	case len(ids) > 1:
		return "", claimed, fmt.Errorf("conditional %s of %s: %d matches: %w", e.Method, e.Type, len(ids), server.ErrMultipleMatches)
	case len(ids) == 1 && own != "" && own != ids[0]:
		return "", claimed, fmt.Errorf("conditional %s of %s: %w", e.Method, e.Type, server.ErrIDMismatch)
	case len(ids) == 1:
		return ids[0], claimed, nil
	case e.Method == "DELETE":
		return "", claimed, nil
	}
	id := own
	if id == "" {
		id = b.newID()
	}
	if claimed == nil {
		claimed = map[[3]string]string{}
	}
	for i, ident := range e.Condition.Identifiers {
		winner, err := tx.ClaimIdentifier(ctx, e.Type, ident.System, ident.Value, id)
		if err != nil {
			return "", claimed, fmt.Errorf("conditional update of %s: %w", e.Type, err)
		}
		if winner != id {
			// A concurrent twin created it first (PostgreSQL made this
			// claim wait for it): with this one identifier and no _id, it
			// is the match; otherwise the sender retries and matches anew.
			if i == 0 && len(e.Condition.Identifiers) == 1 && len(e.Condition.IDs) == 0 && (own == "" || own == winner) {
				return winner, claimed, nil
			}
			return "", claimed, fmt.Errorf("conditional update of %s: an identifier was claimed concurrently: %w", e.Type, server.ErrConflict)
		}
		claimed[[3]string{e.Type, ident.System, ident.Value}] = id
	}
	return id, claimed, nil
}

// match returns the ids of the live resources of typ that cond selects,
// sorted: those holding one of its identifiers in the identifier index,
// among its IDs when it lists some.
func match(ctx context.Context, tx *store.Tx, typ string, cond *server.Condition) ([]string, error) {
	cands := cond.IDs
	if len(cond.Identifiers) > 0 {
		cands = nil
		for _, ident := range cond.Identifiers {
			id, err := tx.FindByIdentifier(ctx, typ, ident.System, ident.Value)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("matching %s by identifier: %w", typ, err)
			}
			if len(cond.IDs) == 0 || slices.Contains(cond.IDs, id) {
				cands = append(cands, id)
			}
		}
	}
	var out []string
	for _, id := range cands {
		if slices.Contains(out, id) {
			continue
		}
		_, _, err := tx.GetResource(ctx, typ, id)
		if errors.Is(err, store.ErrNotFound) { // deleted ones too
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("matching %s: %w", typ, err)
		}
		out = append(out, id)
	}
	slices.Sort(out)
	return out, nil
}
