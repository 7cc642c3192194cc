package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// storeRelated stores what a delivery's answer gives beyond the delivered
// resource (connectors.Result.Related), in the transaction that records
// the delivery: each Resource as a new version when it changed, each
// VendorID in the crosswalk and as the resource's identifier (see
// writeBack) unless the resource already has another id of the vendor,
// which is kept (so is a vendor id already linked to another resource).
// Every version stored is routed (Options.Router) and, when the runner
// has the EHR write-back flow, enqueued on it.
func (r *Runner) storeRelated(ctx context.Context, tx *store.Tx, vendor string, rel []connectors.Related) error {
	for _, x := range rel {
		if x.Type == "" || x.ID == "" {
			return fmt.Errorf("a related record of the answer has no type or id")
		}
		if x.Resource != nil {
			ver, changed, err := tx.PutValue(ctx, x.Type, x.ID, x.Resource)
			if err != nil {
				return fmt.Errorf("storing the answer's %s/%s: %w", x.Type, x.ID, err)
			}
			if changed {
				if err := r.routeRelated(ctx, tx, x.Type, x.ID, ver, x.Resource); err != nil {
					return err
				}
			}
		}
		if x.VendorID == "" {
			continue
		}
		switch have, err := tx.VendorID(ctx, vendor, x.Type, x.ID); {
		case err == nil && have != x.VendorID:
			continue // the resource's id at the vendor stays the one its own flow uses
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := tx.LinkVendorID(ctx, vendor, x.Type, x.ID, x.VendorID); errors.Is(err, store.ErrConflict) {
			continue // that vendor id belongs to another resource: left as it is
		} else if err != nil {
			return err
		}
		_, before, err := tx.GetResource(ctx, x.Type, x.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // linked only: nothing stored to write the id onto
		} else if err != nil {
			return fmt.Errorf("reading %s for the vendor id: %w", x.Type, err)
		}
		if err := writeBack(ctx, tx, vendor, x.Type, x.ID, connectors.Result{VendorID: x.VendorID}); err != nil {
			return err
		}
		body, after, err := tx.GetResource(ctx, x.Type, x.ID)
		if err != nil {
			return fmt.Errorf("reading %s after the vendor id: %w", x.Type, err)
		}
		if after == before {
			continue
		}
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return fmt.Errorf("reading %s after the vendor id: %w", x.Type, err)
		}
		if err := r.routeRelated(ctx, tx, x.Type, x.ID, after, v); err != nil {
			return err
		}
	}
	return nil
}

// routeRelated routes a version stored from an answer and enqueues its
// EHR write-back when the runner has that flow.
func (r *Runner) routeRelated(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value) error {
	if r.opt.Router != nil {
		if err := r.opt.Router.Route(ctx, tx, typ, id, version, res); err != nil {
			return fmt.Errorf("routing the answer's %s/%s: %w", typ, id, err)
		}
	}
	if _, ok := r.flows[EHRFlow]; ok {
		if err := Enqueue(ctx, tx, Job{Flow: EHRFlow, ResourceType: typ, ResourceID: id, Version: version}); err != nil {
			return fmt.Errorf("queueing the EHR write-back of %s/%s: %w", typ, id, err)
		}
	}
	return nil
}
