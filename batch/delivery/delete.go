package delivery

import (
	"context"
	"fmt"
	"slices"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// RouteDelete routes the deletion of typ/id, stored as version, whose
// last live body is last. It implements ingest.DeleteRouter.
//
// The rule: a deletion is a change like any other and is never dropped.
// The observers of typ see it with a nil resource (the resource is gone).
// Every route of typ whose When accepts the deletion's form gets a job
// for version, without the acceptance checks (Check, parents, mapping): a
// deletion is never refused. The form is what the worker delivers: for
// an Appointment, last with status cancelled, so that the flow cancels
// the appointment at the vendor through its cancel path exactly as for a
// PUT of the cancelled Appointment (or skips it when the vendor never
// had it); for any other type, last itself, and the worker dead-letters
// the job, since no flow can express the deletion of that type (an
// operator sees it among the dead letters and deals with it at the
// vendor).
func (r *Router) RouteDelete(ctx context.Context, tx *store.Tx, typ, id string, version int, last *fhir.Value) error {
	if last == nil || last.Kind != fhir.Object {
		return fmt.Errorf("routing the deletion of %s/%s: the last body is not a resource", typ, id)
	}
	for _, o := range r.Observers {
		if !slices.Contains(o.Types, typ) {
			continue
		}
		if err := o.Observe(ctx, tx, typ, id, version, nil); err != nil {
			return fmt.Errorf("%s: %w", o.Name, err)
		}
	}
	form := last
	if f, ok := deletedForm(typ, last); ok {
		form = f
	}
	for _, rt := range r.Routes {
		if rt.Resource != typ {
			continue
		}
		if rt.When != nil {
			out, err := rt.When.Eval(&fhirpath.Env{Resource: form}, fhirpath.Collection{fhirpath.ItemOf(form)})
			if err != nil {
				return fmt.Errorf("route %s: evaluating when on a deletion: %w", rt.Flow, err)
			}
			if len(out) != 1 {
				continue
			}
			if b, ok := out[0].AsBool(); !ok || !b {
				continue
			}
		}
		if err := Enqueue(ctx, tx, Job{Flow: rt.Flow, ResourceType: typ, ResourceID: id, Version: version}); err != nil {
			return err
		}
	}
	return nil
}

// deletedForm returns what a deletion of typ is delivered as, when a flow
// can express it: for an Appointment, a copy of its last body with status
// cancelled. ok is false for any other type.
func deletedForm(typ string, last *fhir.Value) (form *fhir.Value, ok bool) {
	if typ != "Appointment" || last == nil || last.Kind != fhir.Object {
		return nil, false
	}
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), last.Members...)}
	out.Set("status", fhir.NewString("cancelled"))
	return out, true
}

// errDeleteNotExpressible is the permanent error of a job delivering the
// deletion of a type its flow cannot express: the worker dead-letters it.
func errDeleteNotExpressible(flow, typ, id string) error {
	return fmt.Errorf("%s/%s was deleted, and flow %s cannot deliver the deletion of a %s "+
		"(only an Appointment's, as its cancellation): deal with it at the vendor, then discard this job", typ, id, flow, typ)
}
