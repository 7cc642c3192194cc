package solostatus

import (
	"context"
	"time"
)

// Worker runs the background part beside the delivery queue (which works
// the recorded events, WebhookFlow): it makes the events left unknown due
// again when a new one arrives (Wake), and runs the optional poll. Make it
// with NewWorker.
type Worker struct {
	s                   *Syncer
	pollEvery, lookback time.Duration
	wake                chan struct{}
}

// NewWorker returns a worker that polls every pollEvery with lookback
// when pollEvery > 0.
func NewWorker(s *Syncer, pollEvery, lookback time.Duration) *Worker {
	return &Worker{s: s, pollEvery: pollEvery, lookback: lookback, wake: make(chan struct{}, 1)}
}

// Wake tells the worker a new event was recorded; it never blocks. The
// worker then makes the events left unknown due again: the appointment
// they name may be known by now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	var poll <-chan time.Time
	if w.pollEvery > 0 {
		pt := time.NewTicker(w.pollEvery)
		defer pt.Stop()
		poll = pt.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			if _, err := w.s.RetryUnknown(ctx); err != nil && ctx.Err() == nil {
				w.s.log().Error("solo webhook events", "error", err)
			}
		case <-poll:
			if _, err := w.s.Poll(ctx, w.lookback); err != nil && ctx.Err() == nil {
				w.s.log().Error("solo status poll", "error", err)
			}
		}
	}
}
