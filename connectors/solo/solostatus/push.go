package solostatus

import (
	"context"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// queuePush enqueues, in the transaction that stored version of typ/id,
// its write-back to the EHR: a job of the delivery flow s.EHRFlow, which
// the delivery Runner sends.
func (s *Syncer) queuePush(ctx context.Context, tx *store.Tx, typ, id string, version int) error {
	return delivery.Enqueue(ctx, tx, delivery.Job{Flow: s.EHRFlow, ResourceType: typ, ResourceID: id, Version: version})
}
