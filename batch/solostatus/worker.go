package solostatus

import (
	"context"
	"time"
)

// Worker runs the background part: recorded events and the
// optional poll. Make it with NewWorker.
type Worker struct {
	s                          *Syncer
	every, pollEvery, lookback time.Duration
	wake                       chan struct{}
}

// NewWorker returns a worker that handles due events every
// `every` (and at once when woken), and polls every pollEvery with
// lookback when pollEvery > 0.
func NewWorker(s *Syncer, every, pollEvery, lookback time.Duration) *Worker {
	return &Worker{s: s, every: every, pollEvery: pollEvery, lookback: lookback, wake: make(chan struct{}, 1)}
}

// Wake asks the worker to handle events now; it never blocks. A wake-up
// also retries the events left unknown: the appointment they name may be
// known by now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	var poll <-chan time.Time
	if w.pollEvery > 0 {
		pt := time.NewTicker(w.pollEvery)
		defer pt.Stop()
		poll = pt.C
	}
	w.round(ctx, true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			w.round(ctx, true)
		case <-tick.C:
			w.round(ctx, false)
		case <-poll:
			if _, err := w.s.Poll(ctx, w.lookback); err != nil && ctx.Err() == nil {
				w.s.log().Error("solo status poll", "error", err)
			}
		}
	}
}

func (w *Worker) round(ctx context.Context, retryUnknown bool) {
	if _, err := w.s.ProcessEvents(ctx, retryUnknown); err != nil && ctx.Err() == nil {
		w.s.log().Error("solo webhook events", "error", err)
	}
}
