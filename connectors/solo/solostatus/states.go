package solostatus

// Event states, as `fhirbridge solo webhooks replay` names them. An event
// is a job of WebhookFlow on the delivery queue; its state is read from
// the job's (see EventRow).
const (
	StatePending   = "pending"   // recorded, not yet handled
	StateDone      = "done"      // handled (the job is delivered)
	StateUnknown   = "unknown"   // names an id the bridge does not know; dead-lettered, kept for replay
	StateFailed    = "failed"    // a transient failure; the queue retries it with backoff
	StateDead      = "dead"      // failed MaxAttempts times, or permanently; replay retries it
	StateDiscarded = "discarded" // an operator discarded its job (fhirbridge deliveries discard)
)
