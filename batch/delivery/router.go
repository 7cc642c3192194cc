package delivery

import (
	"context"
	"fmt"
	"slices"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"

	"github.com/fhirbridge/fhirbridge/batch/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Route sends resources of one type that pass When (a compiled FHIRPath
// condition, nil = all) to the flow named Flow.
type Route struct {
	Flow     string
	Resource string
	When     *fhirpath.Expr
	// Check, when set, refuses a resource the flow's vendor would refuse,
	// at acceptance: its error — an *fhir.OperationOutcome naming the
	// element and the rule, never a value — is wrapped with
	// server.ErrRefused, so the endpoint answers 422 with that outcome and
	// stores nothing.
	Check func(res *fhir.Value) error
	// Parents are the types the flow waits for (its Flow.Parent and
	// Flow.Parents). At acceptance each must be referenced and, unless
	// AwaitParents, the resource referenced must be stored (an entry of
	// the same transaction counts); else the resource is refused (422)
	// with an outcome naming the element path of the reference.
	Parents []string
	// AwaitParents accepts a referenced parent that is not stored yet: the
	// job waits for it, up to the flow's ParentWait.
	AwaitParents bool
	// Mapping, when set, is applied at acceptance (references resolved in
	// the ingest transaction), so that a resource the mapping refuses (a
	// required field empty, a value its lookup refuses) is answered 422
	// at once instead of being dead-lettered later. It is skipped while a
	// parent is awaited, as the mapping may need it.
	Mapping *mapping.Mapping
}

// Observer sees, inside the transaction that stores it, every new version
// of the resource types it names: a module keeps its own index or
// projection of them (free Slots, rows of a published view) exactly as
// current as the store. Its error fails the transaction, so nothing is
// stored that the observer could not take.
type Observer struct {
	// Name says whose it is, in errors ("tuotempo slots").
	Name string
	// Types are the FHIR resource types observed.
	Types []string
	// Observe is called with each stored version, before the routes;
	// res is nil when the version is a deletion (the resource is gone).
	Observe func(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value) error
}

// Router enqueues, inside the ingest transaction, one job per route a
// stored resource version matches, after handing the version to its
// observers. It implements ingest.Router.
type Router struct {
	Routes []Route
	// Observers see every stored version of their types; add them with
	// Observe before the first resource is routed.
	Observers []Observer
}

// Observe adds o to the router. It is not safe for concurrent use with
// Route: modules add observers while serve starts, before it listens.
func (r *Router) Observe(o Observer) { r.Observers = append(r.Observers, o) }

// Route evaluates the observers and routes for one stored resource version.
func (r *Router) Route(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value) error {
	for _, o := range r.Observers {
		if !slices.Contains(o.Types, typ) {
			continue
		}
		if err := o.Observe(ctx, tx, typ, id, version, res); err != nil {
			return fmt.Errorf("%s: %w", o.Name, err)
		}
	}
	for _, rt := range r.Routes {
		if rt.Resource != typ {
			continue
		}
		if rt.When != nil {
			out, err := rt.When.Eval(&fhirpath.Env{Resource: res}, fhirpath.Collection{fhirpath.ItemOf(res)})
			if err != nil {
				return fmt.Errorf("route %s: evaluating when: %w", rt.Flow, err)
			}
			if len(out) != 1 {
				continue
			}
			if b, ok := out[0].AsBool(); !ok || !b {
				continue
			}
		}
		if err := r.enqueue(ctx, tx, rt, typ, id, version, res); err != nil {
			return err
		}
	}
	return nil
}

// enqueue checks a matching route and enqueues its job, in a span of its
// own (the parent of the job's delivery attempts, see startAttempt).
func (r *Router) enqueue(ctx context.Context, tx *store.Tx, rt Route, typ, id string, version int, res *fhir.Value) (err error) {
	ctx, span := tracing.Tracer().Start(ctx, "route "+rt.Flow, trace.WithAttributes(
		attribute.String("fhirbridge.flow", rt.Flow), attribute.String("fhirbridge.resource_type", typ)))
	defer func() { tracing.End(span, err) }()
	if rt.Check != nil {
		if err := rt.Check(res); err != nil {
			return fmt.Errorf("%w: route %s: %w", server.ErrRefused, rt.Flow, err)
		}
	}
	if err := rt.intake(ctx, tx, typ, res); err != nil {
		return fmt.Errorf("route %s: %w", rt.Flow, err)
	}
	return Enqueue(ctx, tx, Job{Flow: rt.Flow, ResourceType: typ, ResourceID: id, Version: version})
}
