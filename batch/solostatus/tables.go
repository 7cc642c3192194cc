package solostatus

import (
	"context"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/ehrpush"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Event states in solo_webhook_events.
const (
	StatePending = "pending" // recorded, not yet handled
	StateDone    = "done"    // handled
	StateUnknown = "unknown" // names an id the bridge does not know; kept for replay
	StateFailed  = "failed"  // a transient failure; retried with backoff
	StateDead    = "dead"    // failed MaxAttempts times, or permanently; replay retries it
)

// Init creates the webhook event table and the EHR push table (ehr_push,
// see package batch/ehrpush) if missing; safe to call from several
// instances.
//
//	solo_webhook_events: hash (SHA-256 of the ciphertext), event_id (Solo's,
//	  "" when none; unique when set), type, object_id (the Solo id named),
//	  state, attempts, last_error, received_at, next_at (Unix µs)
func Init(ctx context.Context, st *store.Store) error {
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS solo_webhook_events (
			hash        TEXT    NOT NULL PRIMARY KEY,
			event_id    TEXT    NOT NULL,
			type        TEXT    NOT NULL,
			object_id   TEXT    NOT NULL,
			state       TEXT    NOT NULL,
			attempts    INTEGER NOT NULL,
			last_error  TEXT    NOT NULL,
			received_at BIGINT  NOT NULL,
			next_at     BIGINT  NOT NULL
		)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS solo_webhook_events_id ON solo_webhook_events (event_id) WHERE event_id <> ''`,
		`CREATE INDEX IF NOT EXISTS solo_webhook_events_due ON solo_webhook_events (state, next_at)`,
	} {
		if _, err := st.DB().ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating the solo status tables: %w", err)
		}
	}
	return ehrpush.Init(ctx, st)
}
