// Package delivery is fhirbridge's outbound queue: one job per (flow,
// resource type, id, version), enqueued in the transaction that stores the
// resource, and a [Runner] whose workers map each stored version and hand it
// to the flow's connector until the vendor accepts it, refuses it for good
// (dead letter) or an operator discards it.
//
// The queue lives in the store's database, in a table of its own
// (delivery_jobs, created by the package's migration line, see
// migrations.go, which [store.Open] applies). Jobs
// are leased while a worker holds them, so a job whose worker died is
// claimed again once its lease expires, or at once when its owner's
// cluster node is counted dead (see limits.go: owners, Reap, and the
// vendor and flow limits that hold across replicas); a re-claimed job is
// never Fresh, so the connector looks the record up before creating it
// again. A new job wakes the runners (wake.go: NOTIFY on PostgreSQL).
//
// Ordering: a job waits while an earlier version of the same resource in
// the same flow is pending or in flight, and a job whose flow names a
// Parent type (or several, Flow.Parents) waits (without spending attempts)
// until each parent has a vendor id in the crosswalk, so an Appointment
// waits for its Patient and a Tyto visit for its Practitioner and Location.
//
// Worker flows (Flow.Work, see worker.go) carry jobs that name no stored
// resource, such as received webhook events: EnqueueWork stores a job's
// kind, key and data, and the flow's WorkFunc does it, with the same
// leases, retries, circuit and dead letters.
//
// Nothing here logs or returns patient values: errors name flows, resource
// types, our ids, states and the connectors' classified reasons.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/tracing"
)

// State is a job's state, as stored in delivery_jobs.state.
type State string

// Job states. Pending, InFlight and DeadLetter are not terminal.
const (
	StatePending    State = store.StatusPending    // waiting for its time, its turn or its parent
	StateInFlight   State = store.StatusInFlight   // a worker holds the lease
	StateDeadLetter State = store.StatusDeadLetter // refused for good; awaits Retry or Discard
	StateDelivered  State = store.StatusDelivered  // the vendor accepted it (or nothing was to be sent)
	StateDiscarded  State = "discarded"            // an operator gave it up
)

// Errors callers may branch on with errors.Is.
var (
	// ErrNotFound: no job has the given id.
	ErrNotFound = errors.New("delivery job not found")
	// ErrState: the job's state does not allow the operation (e.g.
	// discarding a delivered job, or one a worker holds).
	ErrState = errors.New("delivery job state does not allow this")
)

// EHRFlow is the flow of the EHR write-back: resources the EHR owns that
// the bridge changed (tuOtempO cancellations, Solo status) are enqueued on
// it and PUT back, as stored, to the EHR's FHIR endpoint by the connector
// the application registers under this name. Its Vendor is "ehr" too.
const EHRFlow = "ehr"

// Job names one delivery to make: the given version of a stored resource
// through a flow.
type Job struct {
	// Flow is the flow name, a key of the Runner's flows, e.g. "solo/patient".
	Flow string
	// ResourceType and ResourceID name the stored FHIR resource.
	ResourceType, ResourceID string
	// Version is the stored version to deliver (from store.Tx.PutResource).
	Version int
}

// Key is the job's idempotency key, "type/id/version" (Delivery.Key).
func (j Job) Key() string {
	return j.ResourceType + "/" + j.ResourceID + "/" + strconv.Itoa(j.Version)
}

// Enqueue adds job j inside the caller's store transaction, so that the job
// exists exactly when the transaction that stored the resource commits,
// and wakes the runners when it does (see wake.go).
// Enqueueing the same (flow, type, id, version) again is a no-op. The
// request id ctx carries (package logging) is kept with the job and put in
// the log lines of its attempts.
func Enqueue(ctx context.Context, tx *store.Tx, j Job) error {
	op := "enqueueing " + j.Flow + " delivery of " + j.ResourceType + "/" + j.ResourceID
	if j.Flow == "" || j.ResourceType == "" || j.ResourceID == "" || j.Version < 1 {
		return fmt.Errorf("%s: flow, type, id and a version >= 1 are required", op)
	}
	now := micros(time.Now())
	res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO delivery_jobs
		(flow, resource_type, resource_id, version, state, attempts, retry_base, run_at, lease_until, last_error, created_at, updated_at, request_id, traceparent)
		VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, '', ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		j.Flow, j.ResourceType, j.ResourceID, j.Version, StatePending, now, now, now, logging.RequestID(ctx), traceparent(ctx))
	if err != nil {
		return store.Classify(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Classify(op, err)
	} else if n == 1 {
		return notify(ctx, tx, j.Flow) // wake the runners on commit
	}
	return nil
}

// traceparent is the W3C traceparent of ctx's span, stored with a job so
// its delivery attempts join the trace that enqueued it; NULL without one.
func traceparent(ctx context.Context) any {
	if tp := tracing.Traceparent(ctx); tp != "" {
		return tp
	}
	return nil
}

// micros is the stored form of an instant: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }
