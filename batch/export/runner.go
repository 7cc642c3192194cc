package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// DefaultCatchUp is how far back Runner looks, on start, for a slot it
// missed while not running.
const DefaultCatchUp = 24 * time.Hour

// Runner runs one export job on its Schedule until its context ends. For
// each due slot it checks the store (SlotDone) so that a slot already
// exported — before a restart, or on the second pass of a repeated hour —
// is not run again, then calls Run with the slot's time as export time and
// the next slot's time as the retry deadline. Failures go to OnFailure.
//
// On start it runs the latest slot due within CatchUp that was not
// exported (the bridge was down when it came up), once, as cron tools do;
// older missed slots are not run (their windows are stale): one warning
// counts them, and the count rides on the streak's notice if the run fails.
//
// Failures are reported once per streak: the first failure of a streak is
// logged at ERROR and handed to OnFailure; the next ones, until a success
// ends the streak, are logged at WARN with the count. The streak is kept in
// the store, so a restart in the middle of one sends no second notice.
//
// Fill the fields, then call Run once; a Runner is not safe for
// concurrent use, and two Runners of one job on one store can both run a
// slot (the second records nothing new).
type Runner struct {
	Spec     Spec
	Schedule *Schedule
	Store    *store.Store
	// Open connects to the remote for each run (and again when the
	// server asks for a reconnect).
	Open func(ctx context.Context) (connectors.Remote, error)
	// Clock is the time source (SystemClock when nil).
	Clock Clock
	// CatchUp bounds the look-back on start: 0 means DefaultCatchUp, a
	// negative value disables catching up.
	CatchUp time.Duration
	// Options is the template of each run's RunOptions (Metrics, Log,
	// TempDir, Backoff...); Slot, Deadline, Clock and Reopen are set by
	// the Runner.
	Options RunOptions
	// OnFailure is called after the first failed run (or check that could
	// not be made, e.g. the store is down) of a failure streak; res may be
	// empty. The caller alerts, once per streak.
	OnFailure func(slot Slot, res Result, err error, streak Streak)
	// OnSuccess, when set, is called after each uploaded export.
	OnSuccess func(slot Slot, res Result)
	// OnRecover, when set, is called after an uploaded export that ends a
	// failure streak, with the streak it ended.
	OnRecover func(slot Slot, res Result, streak Streak)

	streak     Streak
	superseded int // slots superseded by the coming catch-up run
}

// ErrNoMoreRuns is returned by Runner.Run when the schedule never fires again.
var ErrNoMoreRuns = errors.New("schedule has no further run")

// Run runs slots as they come due until ctx ends, then returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	if err := r.Spec.Validate(); err != nil {
		return err
	}
	if r.Schedule == nil || r.Store == nil || r.Open == nil {
		return fmt.Errorf("%w: runner of %s needs a Schedule, a Store and Open", ErrSpec, r.Spec.Name)
	}
	if r.Clock == nil {
		r.Clock = SystemClock{}
	}
	cursor := r.Clock.Now()
	streak, err := loadStreak(ctx, r.Store, r.Spec.Name)
	if err != nil && r.Options.Log != nil {
		r.Options.Log.Warn("export failure streak unknown; starting a new one", "job", r.Spec.Name, "err", err)
	}
	r.streak = streak
	if slot, ok := r.missed(ctx, cursor); ok {
		r.runSlot(ctx, slot)
	}
	for {
		slot := r.Schedule.NextSlot(cursor)
		if slot.At.IsZero() {
			return ErrNoMoreRuns
		}
		if d := slot.At.Sub(r.Clock.Now()); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-r.Clock.After(d):
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.runSlot(ctx, slot)
		cursor = slot.At
	}
}

// missed returns the latest slot due within CatchUp before now that is
// not done, and reports the older ones not done.
func (r *Runner) missed(ctx context.Context, now time.Time) (Slot, bool) {
	back := r.CatchUp
	if back < 0 {
		return Slot{}, false
	}
	if back == 0 {
		back = DefaultCatchUp
	}
	var due []Slot
	for s := r.Schedule.NextSlot(now.Add(-back)); !s.At.IsZero() && !s.At.After(now); s = r.Schedule.NextSlot(s.At) {
		due = append(due, s)
	}
	last, ran, err := loadCursor(ctx, r.Store, r.Spec.Name)
	if err != nil {
		r.failed(Slot{Key: "catch-up"}, Result{Job: r.Spec.Name}, err)
		return Slot{}, false
	}
	var todo []Slot
	for _, s := range due {
		if ran && !s.At.After(last) {
			continue // reached while running: done, or failed and counted then
		}
		done, err := SlotDone(ctx, r.Store, r.Spec.Name, s.Key)
		if err != nil {
			r.failed(s, Result{Job: r.Spec.Name}, err)
			return Slot{}, false
		}
		if !done {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 {
		return Slot{}, false
	}
	latest := todo[len(todo)-1]
	if !ran {
		// a job that never ran missed nothing while the bridge was down:
		// its latest due slot runs, the older ones were never its to run
		return latest, true
	}
	if r.superseded = len(todo) - 1; r.superseded > 0 && r.Options.Log != nil {
		r.Options.Log.Warn("export slots missed while not running; running only the latest", "job", r.Spec.Name,
			"missed", r.superseded, "first", todo[0].Key, "running", latest.Key)
	}
	return latest, true
}

// runSlot exports one slot unless it is done.
func (r *Runner) runSlot(ctx context.Context, slot Slot) {
	done, err := SlotDone(ctx, r.Store, r.Spec.Name, slot.Key)
	if err != nil {
		r.failed(slot, Result{Job: r.Spec.Name}, err)
		return
	}
	if done {
		if r.Options.Log != nil {
			r.Options.Log.Info("export slot already done", "job", r.Spec.Name, "slot", slot.Key)
		}
		return
	}
	opt := r.Options
	opt.Slot = slot.Key
	opt.Clock = r.Clock
	opt.Reopen = r.Open
	opt.Deadline = r.Schedule.Next(later(slot.At, r.Clock.Now()))
	res, err := Run(ctx, r.Store, nil, r.Spec, slot.At, opt)
	if cerr := saveCursor(context.WithoutCancel(ctx), r.Store, r.Spec.Name, slot.At); cerr != nil && r.Options.Log != nil {
		// the worst case: slots missed before the next start are not counted
		r.Options.Log.Warn("export slot not recorded as reached", "job", r.Spec.Name, "slot", slot.Key, "err", cerr)
	}
	if err != nil {
		r.failed(slot, res, err)
		return
	}
	r.superseded = 0
	if r.OnSuccess != nil {
		r.OnSuccess(slot, res)
	}
	if ended := r.streak; ended.Failures > 0 {
		r.streak = Streak{}
		r.saveStreak(ctx)
		if r.Options.Log != nil {
			r.Options.Log.Info("export recovered", "job", r.Spec.Name, "slot", slot.Key, "failures", ended.Failures, "missed", ended.Missed)
		}
		if r.OnRecover != nil {
			r.OnRecover(slot, res, ended)
		}
	}
}

// failed counts a failure in the job's streak: the first of a streak is
// logged at ERROR and handed to OnFailure, the next ones only logged at
// WARN.
func (r *Runner) failed(slot Slot, res Result, err error) {
	if r.streak.Failures == 0 {
		r.streak.Since = r.Clock.Now().UTC()
	}
	r.streak.Failures++
	r.streak.Missed += r.superseded
	r.superseded = 0
	notify := !r.streak.Notified
	r.streak.Notified = true
	// a cancelled context: keep the streak as counted; the next start
	// reads what was saved
	r.saveStreak(context.Background())
	if !notify {
		if r.Options.Log != nil {
			r.Options.Log.Warn("export failed again", "job", r.Spec.Name, "slot", slot.Key, "attempts", res.Attempts, "failures", r.streak.Failures, "err", err)
		}
		return
	}
	if r.Options.Log != nil {
		r.Options.Log.Error("export failed", "job", r.Spec.Name, "slot", slot.Key, "attempts", res.Attempts, "missed", r.streak.Missed, "err", err)
	}
	if r.OnFailure != nil {
		r.OnFailure(slot, res, err, r.streak)
	}
}

// saveStreak records the streak; a store fault is logged (the worst case
// is a repeated notice after a restart).
func (r *Runner) saveStreak(ctx context.Context) {
	if err := saveStreak(ctx, r.Store, r.Spec.Name, r.streak); err != nil && r.Options.Log != nil {
		r.Options.Log.Warn("export failure streak not recorded", "job", r.Spec.Name, "err", err)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
