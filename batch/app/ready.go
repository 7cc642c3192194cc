package app

import (
	"context"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/ingest"
)

// readyBackend is the endpoint's backend: the ingest backend, whose
// readiness (/readyz) also requires that no delivery destination is
// stalled (due jobs and no successful claim for delivery.stall_after).
type readyBackend struct {
	*ingest.Backend
	runner *delivery.Runner
}

// Ready reports the store first, then the delivery workers.
func (b readyBackend) Ready(ctx context.Context) error {
	if err := b.Backend.Ready(ctx); err != nil {
		return err
	}
	return b.runner.Ready(ctx)
}
