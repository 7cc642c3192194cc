package inbound

import (
	"context"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// queuePush enqueues, in the transaction that stored version of
// Appointment id, its write-back to the EHR: a job of the delivery flow
// Options.EHRFlow, which the delivery Runner sends.
func (p *Poller) queuePush(ctx context.Context, tx *store.Tx, id string, version int) error {
	return delivery.Enqueue(ctx, tx, delivery.Job{Flow: p.opt.EHRFlow, ResourceType: "Appointment", ResourceID: id, Version: version})
}
