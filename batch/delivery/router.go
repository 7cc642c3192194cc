package delivery

import (
	"context"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
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
}

// Router enqueues, inside the ingest transaction, one job per route a
// stored resource version matches. It implements ingest.Router.
type Router struct {
	Routes []Route
}

// Route evaluates the routes for one stored resource version.
func (r *Router) Route(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value) error {
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
		if rt.Check != nil {
			if err := rt.Check(res); err != nil {
				return fmt.Errorf("%w: route %s: %w", server.ErrRefused, rt.Flow, err)
			}
		}
		if err := Enqueue(ctx, tx, Job{Flow: rt.Flow, ResourceType: typ, ResourceID: id, Version: version}); err != nil {
			return err
		}
	}
	return nil
}
