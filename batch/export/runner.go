package export

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/logging"
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
// Several processes on one store (replicas) can each run a Runner of the
// same job when Claims is set: a slot runs on the one that claims it
// ("export:<job>:<slot key>", until the slot's retry deadline plus
// ClaimGrace), and its upload is recorded only while the claim is held.
// The others check every ClaimPoll until the slot is done, its deadline
// passes, or they get the claim — which happens when the holder dies
// mid-slot (its claim frees once its heartbeat is older than the
// cluster's dead-after bound) or stops and hands it back: the slot is then
// run again from the start (the remote's temp-then-rename upload leaves
// no partial file). Only the replica that ran a slot reports its outcome;
// the streak is one row shared by all of them. Without Claims, two
// Runners of one job on one store can both run a slot (the second
// records nothing new).
//
// Fill the fields, then call Run once; a Runner is not safe for
// concurrent use.
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
	// OnSuccess, when set, is called after each uploaded export, with the
	// run's context (its request id and span, for the caller's log line).
	OnSuccess func(ctx context.Context, slot Slot, res Result)
	// OnRecover, when set, is called after an uploaded export that ends a
	// failure streak, with the streak it ended.
	OnRecover func(slot Slot, res Result, streak Streak)
	// Claims, when not nil, claims each slot among the processes sharing
	// the store before running it (*cluster.Node implements it); nil
	// runs every slot here (one process).
	Claims Claimer
	// ClaimPoll is how often a Runner that did not get a slot's claim
	// checks whether the slot is done or the claim free (0 means
	// DefaultClaimPoll).
	ClaimPoll time.Duration

	streak     Streak
	superseded int // slots superseded by the coming catch-up run
}

// Claimer takes named leases shared by the processes on one store;
// *cluster.Node implements it.
type Claimer interface {
	// TryClaim takes (or renews) the lease name for ttl unless another
	// live process holds it, and reports whether this one holds it now.
	TryClaim(ctx context.Context, name string, ttl time.Duration) (bool, error)
	// Release gives the lease back if this process holds it.
	Release(ctx context.Context, name string) error
	// Holds reports inside tx whether this process still holds the lease
	// (locking it until tx ends where the store can).
	Holds(ctx context.Context, tx *store.Tx, name string) (bool, error)
}

// Defaults of the Runner's claims.
const (
	// DefaultClaimPoll is how often a Runner waiting on a slot another
	// process claimed checks it again.
	DefaultClaimPoll = 5 * time.Second
	// ClaimGrace keeps a slot's claim past its retry deadline, so that
	// an upload that started before the deadline and ends after it can
	// still be recorded.
	ClaimGrace = 15 * time.Minute
)

// ErrClaimLost is matched by the error of a run whose slot claim another
// process took over before the upload was recorded: nothing was recorded
// here, and the slot is that process's to run and report.
var ErrClaimLost = errors.New("export slot claim lost to another process")

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
		r.Options.Log.WarnContext(ctx, "export failure streak unknown; starting a new one", "job", r.Spec.Name, "err", err)
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
		r.failed(ctx, Slot{Key: "catch-up"}, Result{Job: r.Spec.Name}, err)
		return Slot{}, false
	}
	var todo []Slot
	for _, s := range due {
		if ran && !s.At.After(last) {
			continue // reached while running: done, or failed and counted then
		}
		done, err := SlotDone(ctx, r.Store, r.Spec.Name, s.Key)
		if err != nil {
			r.failed(ctx, s, Result{Job: r.Spec.Name}, err)
			return Slot{}, false
		}
		if !done {
			todo = append(todo, s)
		}
	}
	if len(todo) == 0 || todo[len(todo)-1].Key != due[len(due)-1].Key {
		// nothing to catch up, or the latest due slot is done (by another
		// process that has not moved the cursor yet): it superseded the
		// older ones
		return Slot{}, false
	}
	latest := todo[len(todo)-1]
	if !ran {
		// a job that never ran missed nothing while the bridge was down:
		// its latest due slot runs, the older ones were never its to run
		return latest, true
	}
	if r.superseded = len(todo) - 1; r.superseded > 0 && r.Options.Log != nil {
		r.Options.Log.WarnContext(ctx, "export slots missed while not running; running only the latest", "job", r.Spec.Name,
			"missed", r.superseded, "first", todo[0].Key, "running", latest.Key)
	}
	return latest, true
}

// runSlot exports one slot unless it is done (or, with Claims, another
// process runs it).
func (r *Runner) runSlot(ctx context.Context, slot Slot) {
	// the slot's run id: its lines, the run's and the failure's, carry it
	ctx = logging.WithRequestID(ctx, logging.NewRequestID())
	done, err := SlotDone(ctx, r.Store, r.Spec.Name, slot.Key)
	if err != nil {
		r.failed(ctx, slot, Result{Job: r.Spec.Name}, err)
		return
	}
	if done {
		r.info(ctx, "export slot already done", slot)
		return
	}
	opt := r.Options
	opt.Slot = slot.Key
	opt.Clock = r.Clock
	opt.Reopen = r.Open
	opt.Deadline = r.Schedule.Next(later(slot.At, r.Clock.Now()))
	if opt.Deadline.IsZero() {
		opt.Deadline = r.Clock.Now().Add(DefaultRetryFor)
	}
	claim := ""
	if r.Claims != nil {
		claim = "export:" + r.Spec.Name + ":" + slot.Key
		if !r.claim(ctx, slot, claim, opt.Deadline) {
			return
		}
		opt.Fence = func(ctx context.Context, tx *store.Tx) error {
			ok, err := r.Claims.Holds(ctx, tx, claim)
			if err != nil {
				return fmt.Errorf("checking the claim of slot %s: %w", slot.Key, err)
			}
			if !ok {
				return ErrClaimLost
			}
			return nil
		}
	}
	res, err := Run(ctx, r.Store, nil, r.Spec, slot.At, opt)
	if cerr := saveCursor(context.WithoutCancel(ctx), r.Store, r.Spec.Name, slot.At); cerr != nil && r.Options.Log != nil {
		// the worst case: slots missed before the next start are not counted
		r.Options.Log.WarnContext(ctx, "export slot not recorded as reached", "job", r.Spec.Name, "slot", slot.Key, "err", cerr)
	}
	if claim != "" {
		// a failed slot keeps its claim until its deadline: the other
		// processes do not run it again, as one process would not
		if err == nil || ctx.Err() != nil || errors.Is(err, ErrClaimLost) {
			r.release(ctx, slot, claim)
		}
		switch {
		case errors.Is(err, ErrClaimLost):
			if r.Options.Log != nil {
				r.Options.Log.WarnContext(ctx, "export slot taken over by another process before it was recorded here; that process records and reports it",
					"job", r.Spec.Name, "slot", slot.Key)
			}
			return
		case err != nil && ctx.Err() != nil:
			r.info(ctx, "export stopped mid-slot; its claim is handed back to the other processes", slot)
			return
		}
	}
	if err != nil {
		r.failed(ctx, slot, res, err)
		return
	}
	r.superseded = 0
	if r.OnSuccess != nil {
		r.OnSuccess(ctx, slot, res)
	}
	ended, ok, err := endStreak(context.WithoutCancel(ctx), r.Store, r.Spec.Name)
	if err != nil {
		if r.Options.Log != nil {
			r.Options.Log.WarnContext(ctx, "export failure streak not ended", "job", r.Spec.Name, "err", err)
		}
		ended, ok = r.streak, r.streak.Failures > 0
	}
	r.streak = Streak{}
	if ok {
		if r.Options.Log != nil {
			r.Options.Log.InfoContext(ctx, "export recovered", "job", r.Spec.Name, "slot", slot.Key, "failures", ended.Failures, "missed", ended.Missed)
		}
		if r.OnRecover != nil {
			r.OnRecover(slot, res, ended)
		}
	}
}

// claim takes the slot's claim, or waits while another process holds
// it: it checks every ClaimPoll until the slot is done (false), the
// claim is free (true), the deadline passes or ctx ends (false).
func (r *Runner) claim(ctx context.Context, slot Slot, name string, deadline time.Time) bool {
	poll := r.ClaimPoll
	if poll <= 0 {
		poll = DefaultClaimPoll
	}
	waiting := false
	for {
		ok, err := r.Claims.TryClaim(ctx, name, deadline.Sub(r.Clock.Now())+ClaimGrace)
		if err == nil && ok {
			// the process that held the claim may have recorded the slot
			// and released it since the check before claiming
			done, err := SlotDone(ctx, r.Store, r.Spec.Name, slot.Key)
			if err != nil || done {
				r.release(ctx, slot, name)
				if err != nil {
					r.failed(ctx, slot, Result{Job: r.Spec.Name}, err)
				} else {
					r.info(ctx, "export slot done by another process", slot)
				}
				return false
			}
			if waiting {
				r.info(ctx, "export slot taken over from a process that stopped", slot)
			}
			return true
		}
		if err != nil && ctx.Err() == nil && r.Options.Log != nil {
			r.Options.Log.WarnContext(ctx, "claiming export slot", "job", r.Spec.Name, "slot", slot.Key, "err", err)
		}
		if !waiting && err == nil {
			r.info(ctx, "export slot claimed by another process; waiting for it", slot)
			waiting = true
		}
		if !r.Clock.Now().Add(poll).Before(deadline) {
			if err != nil {
				r.failed(ctx, slot, Result{Job: r.Spec.Name}, err)
			} else {
				r.info(ctx, "export slot left to the process that claimed it: its deadline passed", slot)
			}
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-r.Clock.After(poll):
		}
		done, err := SlotDone(ctx, r.Store, r.Spec.Name, slot.Key)
		if err == nil && done {
			r.info(ctx, "export slot done by another process", slot)
			return false
		}
	}
}

// release hands the slot's claim back (even when ctx ended).
func (r *Runner) release(ctx context.Context, slot Slot, name string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.Claims.Release(rctx, name); err != nil && r.Options.Log != nil {
		r.Options.Log.WarnContext(ctx, "export slot claim not released; it frees at its deadline", "job", r.Spec.Name, "slot", slot.Key, "err", err)
	}
}

// info logs one line about a slot at INFO.
func (r *Runner) info(ctx context.Context, msg string, slot Slot) {
	if r.Options.Log != nil {
		r.Options.Log.InfoContext(ctx, msg, "job", r.Spec.Name, "slot", slot.Key)
	}
}

// failed counts a failure in the job's streak: the first of a streak is
// logged at ERROR and handed to OnFailure, the next ones only logged at
// WARN. The streak is counted in the store, shared with the other
// processes running the job; when the store cannot be written, the
// Runner's own copy decides.
func (r *Runner) failed(ctx context.Context, slot Slot, res Result, err error) {
	now := r.Clock.Now().UTC()
	// a cancelled context: keep the streak as counted; the next start
	// reads what was saved
	s, notify, serr := addFailure(context.Background(), r.Store, r.Spec.Name, r.superseded, now)
	if serr != nil {
		if r.Options.Log != nil {
			r.Options.Log.WarnContext(ctx, "export failure streak not recorded", "job", r.Spec.Name, "err", serr)
		}
		if r.streak.Failures == 0 {
			r.streak.Since = now
		}
		r.streak.Failures++
		r.streak.Missed += r.superseded
		notify = !r.streak.Notified
		r.streak.Notified = true
		s = r.streak
	} else {
		r.streak = s
	}
	r.superseded = 0
	if !notify {
		if r.Options.Log != nil {
			r.Options.Log.WarnContext(ctx, "export failed again", "job", r.Spec.Name, "slot", slot.Key, "attempts", res.Attempts, "failures", s.Failures, "err", err)
		}
		return
	}
	if r.Options.Log != nil {
		r.Options.Log.ErrorContext(ctx, "export failed", "job", r.Spec.Name, "slot", slot.Key, "attempts", res.Attempts, "missed", s.Missed, "err", err)
	}
	if r.OnFailure != nil {
		r.OnFailure(slot, res, err, s)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
