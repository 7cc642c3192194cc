package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// finish records a delivered job in one transaction: the vendor id in the
// crosswalk, the job's state and an outbound message (body is the mapped
// record, kept for reviewers; outcome is a code).
func (r *Runner) finish(ctx context.Context, c claimed, flow Flow, d connectors.Delivery, body []byte, res connectors.Result, outcome string) error {
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		if res.VendorID != "" {
			if err := tx.LinkVendorID(ctx, flow.Vendor, c.ResourceType, c.ResourceID, res.VendorID); err != nil {
				return err
			}
		}
		if err := writeBack(ctx, tx, flow.Vendor, c.ResourceType, c.ResourceID, res); err != nil {
			return err
		}
		if err := r.storeRelated(ctx, tx, flow.Vendor, res.Related); err != nil {
			return err
		}
		if err := r.setState(ctx, tx, c, StateDelivered, c.attempts, r.opt.Clock(), ""); err != nil {
			return err
		}
		_, err := tx.LogMessage(ctx, store.Message{Direction: store.Out, Kind: c.Flow + "." + string(d.Op),
			ResourceType: c.ResourceType, ResourceID: c.ResourceID, Vendor: flow.Vendor,
			Status: store.StatusDelivered, Outcome: outcome, Body: body,
			JobID: c.id, StatusCode: c.statusCode, Elapsed: c.elapsed})
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return r.deadLetter(ctx, c, flow, fmt.Errorf("recording the vendor id: %w", err))
	}
	if err != nil {
		return fmt.Errorf("recording delivery of job %d: %w", c.id, err)
	}
	return nil
}

// failed classifies a Deliver error and reschedules or dead-letters; it
// returns which of the two it did (outcomeRetry or outcomeDeadLetter).
func (r *Runner) failed(ctx context.Context, c claimed, flow Flow, err error) (string, error) {
	class, retryAfter := connectors.Classify(err)
	now := r.opt.Clock()
	if class == connectors.Permanent {
		return outcomeDeadLetter, r.deadLetter(ctx, c, flow, err)
	}
	open := r.cb.failure(flow.Vendor, now, class == connectors.Reconnect)
	n := c.attempts - c.retryBase
	maxAttempts := r.opt.MaxAttempts
	if flow.MaxAttempts > 0 {
		maxAttempts = flow.MaxAttempts
	}
	if class == connectors.Transient && n >= maxAttempts {
		return outcomeDeadLetter, r.deadLetter(ctx, c, flow, fmt.Errorf("gave up after %d attempts: %w", n, err))
	}
	limit := backoffCap(r.opt.BackoffBase, r.opt.BackoffMax, n)
	delay := r.opt.Jitter(limit)
	retryAfter = min(retryAfter, r.opt.MaxRetryAfter)
	if class == connectors.Reconnect {
		delay = max(delay, r.opt.BreakerCooldown)
	}
	delay = max(delay, retryAfter) // never earlier than the vendor asked
	if r.opt.OnRetry != nil {
		r.opt.OnRetry(RetryEvent{JobID: c.id, Flow: c.Flow, Attempt: n, Class: class, Cap: limit, Delay: delay, RetryAfter: retryAfter})
	}
	r.jobLog(c, flow).InfoContext(ctx, "delivery retry scheduled", "retry_attempt", n, "class", class.String(),
		"delay", delay, "circuit_open", open)
	return outcomeRetry, r.retryLater(ctx, c, flow, now.Add(delay), sanitise(err))
}

// retryLater reschedules a failed attempt and records it in the message
// log (its PHI-free reason, the vendor's status and timing), in one
// transaction, so that a message's stages show every attempt.
func (r *Runner) retryLater(ctx context.Context, c claimed, flow Flow, runAt time.Time, reason string) error {
	return r.st.InTx(ctx, func(tx *store.Tx) error {
		if err := r.setState(ctx, tx, c, StatePending, c.attempts, runAt, reason); err != nil {
			return err
		}
		_, err := tx.LogMessage(ctx, store.Message{Direction: store.Out, Kind: c.Flow,
			ResourceType: c.ResourceType, ResourceID: c.ResourceID, Vendor: flow.Vendor,
			Status: store.StatusPending, Outcome: reason,
			JobID: c.id, StatusCode: c.statusCode, Elapsed: c.elapsed})
		return err
	})
}

// statusOf is the vendor's HTTP status an error carries (a connector's
// error with an HTTPStatus method, such as connectors.StatusError), or 0.
func statusOf(err error) int {
	if se, ok := errors.AsType[interface {
		error
		HTTPStatus() int
	}](err); ok {
		return se.HTTPStatus()
	}
	return 0
}

// deadLetter parks a job for an operator with its reason.
func (r *Runner) deadLetter(ctx context.Context, c claimed, flow Flow, cause error) error {
	reason := sanitise(cause)
	r.jobLog(c, flow).WarnContext(ctx, "delivery dead-lettered", "type", c.ResourceType, "id", c.ResourceID, "reason", reason)
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		if err := r.setState(ctx, tx, c, StateDeadLetter, c.attempts, time.UnixMicro(0), reason); err != nil {
			return err
		}
		_, err := tx.LogMessage(ctx, store.Message{Direction: store.Out, Kind: c.Flow,
			ResourceType: c.ResourceType, ResourceID: c.ResourceID, Vendor: flow.Vendor,
			Status: store.StatusDeadLetter, Outcome: reason,
			JobID: c.id, StatusCode: c.statusCode, Elapsed: c.elapsed})
		return err
	})
	if err != nil {
		return fmt.Errorf("dead-lettering job %d: %w", c.id, err)
	}
	return nil
}
