package solostatus

// Event states in solo_webhook_events (created by the package's migration
// line "solostatus", see migrations.go).
const (
	StatePending = "pending" // recorded, not yet handled
	StateDone    = "done"    // handled
	StateUnknown = "unknown" // names an id the bridge does not know; kept for replay
	StateFailed  = "failed"  // a transient failure; retried with backoff
	StateDead    = "dead"    // failed MaxAttempts times, or permanently; replay retries it
)
