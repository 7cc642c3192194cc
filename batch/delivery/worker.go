package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/batch/store"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Worker flows.
//
// A flow whose Work is set is a worker flow: its jobs name no stored
// resource but carry their own data (a webhook event, say), enqueued with
// EnqueueWork, and the runner hands each due job to Work instead of
// mapping a resource and calling a connector. Everything else is the
// queue's: leases, the backoff with full jitter and the vendor's
// Retry-After (from a classified error, connectors.Classify), the
// destination's circuit and concurrency (the flow's Vendor), dead letters
// after MaxAttempts transient failures or at once for a permanent one,
// `fhirbridge deliveries` to list, retry or discard, and the metrics.
// A worker job's resource_type holds its kind and resource_id its key;
// its version is always 1.

// WorkFunc works one job of a worker flow. It returns nil when the job is
// done, or an error classified by connectors.Classify: permanent
// (dead-lettered at once), transient (retried with backoff and
// Retry-After) or reconnect. It must be idempotent: a job re-claimed after
// a crash or a lost lease is worked again (Work.Fresh is then false).
type WorkFunc func(ctx context.Context, w Work) error

// Work is one attempt at a worker job, as handed to a WorkFunc.
type Work struct {
	// JobID is the job's id in the queue (for logs).
	JobID int64
	// Flow, Kind and Key are the job's as enqueued (WorkJob).
	Flow, Kind, Key string
	// Data is the job's data as enqueued.
	Data []byte
	// Attempt counts the attempts at the job, this one included; Fresh is
	// set on the first.
	Attempt int
	Fresh   bool
	// Store is the runner's store, Log its logger (never nil).
	Store *store.Store
	Log   *slog.Logger
}

// WorkJob is a job of a worker flow to enqueue.
type WorkJob struct {
	// Flow names a worker flow (Flow.Work set).
	Flow string
	// Kind says what the job is, e.g. a webhook event type; listed by
	// `fhirbridge deliveries` where a resource job shows its type.
	Kind string
	// Key is the job's idempotency key within Flow: enqueueing a key
	// again is a no-op (a replayed webhook event).
	Key string
	// Data is what Work needs, UTF-8 text (JSON, typically). It must hold
	// no secret; like every job it is kept until an operator prunes it.
	Data []byte
}

// EnqueueWork adds worker job j inside the caller's store transaction
// and reports whether it is new (false: a job with the same flow and key
// exists already, and nothing was added). Like Enqueue, it keeps the
// request id and span ctx carries with the job, for the log lines and
// spans of its attempts.
func EnqueueWork(ctx context.Context, tx *store.Tx, j WorkJob) (fresh bool, err error) {
	op := "enqueueing " + j.Flow + " work"
	if j.Flow == "" || j.Kind == "" || j.Key == "" {
		return false, fmt.Errorf("%s: flow, kind and key are required", op)
	}
	now := micros(time.Now())
	res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO delivery_jobs
		(flow, resource_type, resource_id, version, state, attempts, retry_base, run_at, lease_until, last_error, created_at, updated_at, data, request_id, traceparent)
		VALUES (?, ?, ?, 1, ?, 0, 0, ?, 0, '', ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
		j.Flow, j.Kind, j.Key, StatePending, now, now, now, string(j.Data), logging.RequestID(ctx), traceparent(ctx))
	if err != nil {
		return false, store.Classify(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, store.Classify(op, err)
	}
	if n == 1 {
		if err := notify(ctx, tx, j.Flow); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// doWork makes one attempt at a held worker job and records the outcome,
// as work does for a resource's job.
func (r *Runner) doWork(ctx context.Context, c claimed, flow Flow, log *slog.Logger) {
	span := trace.SpanFromContext(ctx) // the attempt's, started by work
	count := func(outcome string) {
		span.SetAttributes(attribute.String("fhirbridge.outcome", outcome))
		r.metrics.attempts.WithLabelValues(flow.Vendor, c.Flow, outcome).Inc()
	}
	actx, cancel := context.WithTimeout(ctx, r.opt.AttemptTimeout)
	start := time.Now()
	err := flow.Work(actx, Work{JobID: c.id, Flow: c.Flow, Kind: c.ResourceType, Key: c.ResourceID, Data: []byte(c.data),
		Attempt: c.attempts, Fresh: c.attempts == 1, Store: r.st, Log: logging.Bind(log, ctx)})
	r.metrics.duration.WithLabelValues(flow.Vendor, c.Flow).Observe(time.Since(start).Seconds())
	cancel()
	switch {
	case err == nil:
		r.cb.success(flow.Vendor)
		count(outcomeDelivered)
		r.metrics.latency.WithLabelValues(flow.Vendor, c.Flow).Observe(max(time.Since(time.UnixMicro(c.createdAt)).Seconds(), 0))
		rctx, cancel := recordCtx(ctx) // done: record it even if interrupted meanwhile
		defer cancel()
		if err := r.setState(rctx, nil, c, StateDelivered, c.attempts, r.opt.Clock(), ""); err != nil {
			log.WarnContext(ctx, "recording work outcome", "err", err)
		}
		return
	case ctx.Err() == nil:
		var outcome string
		outcome, err = r.failed(ctx, c, flow, err)
		count(outcome)
	}
	if ctx.Err() != nil { // shutting down: hand the job back, due now
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err = r.reschedule(bg, c, r.opt.Clock(), "interrupted by shutdown", false)
	}
	if err != nil {
		log.WarnContext(ctx, "recording work outcome", "err", err)
	}
}

// Drain works the due jobs of the runner's flows in the calling goroutine
// until none is due (or every destination's circuit is open) and returns
// how many attempts it made. It is for commands that work a flow once
// (`fhirbridge solo webhooks replay`) rather than serve; a job whose
// retry falls due while it drains is tried again.
func (r *Runner) Drain(ctx context.Context) (int, error) {
	n := 0
	for {
		worked := false
		for vendor := range r.dests {
			jobs, err := r.claim(ctx, vendor)
			if err != nil {
				return n, err
			}
			for _, c := range jobs {
				r.work(ctx, c)
				r.release(vendor)
				n++
				worked = true
			}
		}
		if !worked || ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
}
