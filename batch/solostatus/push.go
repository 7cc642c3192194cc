package solostatus

import (
	"context"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// defaultMaxAttempts is the tries of a failing event when MaxAttempts is 0.
const defaultMaxAttempts = 10

// Event retry bounds: the first retry of a failed event waits
// firstBackoff, each later one twice the previous, never more than
// maxBackoff.
const (
	firstBackoff = 30 * time.Second
	maxBackoff   = time.Hour
)

// queuePush enqueues, in the transaction that stored version of typ/id,
// its write-back to the EHR: a job of the delivery flow s.EHRFlow, which
// the delivery Runner sends.
func (s *Syncer) queuePush(ctx context.Context, tx *store.Tx, typ, id string, version int) error {
	return delivery.Enqueue(ctx, tx, delivery.Job{Flow: s.EHRFlow, ResourceType: typ, ResourceID: id, Version: version})
}

// maxAttempts is MaxAttempts or its default.
func (s *Syncer) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return defaultMaxAttempts
}

// backoff is the wait after the given number of failed attempts:
// firstBackoff doubling per attempt, at most maxBackoff.
func backoff(attempts int) time.Duration {
	d := firstBackoff
	for i := 1; i < attempts && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
