package delivery

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// intake refuses, inside the ingest transaction, a resource of type typ
// that the route's flow could never deliver: a parent reference missing or
// (unless the route awaits parents) naming a resource that is not stored,
// or a record its mapping refuses. Refusals wrap server.ErrRefused and an
// *fhir.OperationOutcome naming element paths and our ids, never values.
func (rt Route) intake(ctx context.Context, tx *store.Tx, typ string, res *fhir.Value) error {
	var oo *fhir.OperationOutcome
	awaiting := false
	for _, p := range (Flow{Parents: rt.Parents}).parentTypes() {
		id, path := parentRef(res, p)
		if id == "" {
			oo = oo.Add(fhir.CodeRequired, typ, fmt.Sprintf("%s needs a reference to a %s (%s/id, or the fullUrl of an entry of the same transaction) to be delivered", typ, p, p))
			continue
		}
		_, _, err := tx.GetResource(ctx, p, id)
		switch {
		case errors.Is(err, store.ErrNotFound) && rt.AwaitParents:
			awaiting = true
		case errors.Is(err, store.ErrNotFound):
			oo = oo.Add(fhir.CodeNotFound, typ+"."+path, fmt.Sprintf("%s/%s is neither in this transaction nor stored; send it first or in the same transaction", p, id))
		case err != nil:
			return fmt.Errorf("looking up the referenced %s/%s: %w", p, id, err)
		}
	}
	if oo == nil && rt.Mapping != nil && !awaiting && !(typ == "Appointment" && res.GetString("status") == "cancelled") {
		// a cancelled Appointment the vendor never had is not mapped (see
		// prepare), so its mapping cannot refuse it
		oo = mapCheck(ctx, tx, rt.Mapping, typ, res)
	}
	if oo != nil {
		return fmt.Errorf("%w: %w", server.ErrRefused, oo)
	}
	return nil
}

// mapCheck applies m to res, resolving references in tx, and returns an
// outcome when the mapping refuses the resource. Other failures (a store
// error while resolving) are left to the delivery worker, which reports
// them on the job.
func mapCheck(ctx context.Context, tx *store.Tx, m *mapping.Mapping, typ string, res *fhir.Value) *fhir.OperationOutcome {
	resolve := fhir.ResolverFunc(func(ref string) *fhir.Value {
		t, id := fhir.SplitReference(ref)
		if t == "" || id == "" {
			return nil
		}
		body, _, err := tx.GetResource(ctx, t, id)
		if err != nil {
			return nil
		}
		v, err := fhir.DecodeString(string(body), fhir.DecodeOptions{})
		if err != nil {
			return nil
		}
		return v
	})
	_, err := m.Apply(res, resolve)
	var fe *mapping.FieldError
	if !errors.As(err, &fe) {
		return nil
	}
	// FieldError names the mapping, field and expression, never a value
	return (&fhir.OperationOutcome{}).Add(fhir.CodeValue, elementPath(typ, fe.Expr),
		"the route's mapping refuses this resource: "+fe.Error())
}

// simplePath matches a FHIRPath expression that is a chain of element
// names and argument-less functions: type.first().coding.first().code.
var simplePath = regexp.MustCompile(`^[A-Za-z_]\w*(\(\))?(\.[A-Za-z_]\w*(\(\))?)*$`)

// elementPath turns a mapping field's source expression into the element
// path it reads (EpisodeOfCare.type.coding.code), or typ alone when the
// expression is more than a chain of elements.
func elementPath(typ, expr string) string {
	if !simplePath.MatchString(expr) {
		return typ
	}
	out := []string{typ}
	for _, seg := range strings.Split(expr, ".") {
		if !strings.HasSuffix(seg, "()") {
			out = append(out, seg)
		}
	}
	return strings.Join(out, ".")
}
