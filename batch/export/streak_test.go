package export

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/logging"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// levelCounter is a slog handler counting records by level.
type levelCounter struct {
	mu sync.Mutex
	n  map[slog.Level]int
}

func (h *levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *levelCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Level]++
	return nil
}
func (h *levelCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *levelCounter) WithGroup(string) slog.Handler      { return h }

// lifetime is one lifetime of the bridge: from start to end, with the
// server unreachable when down is true.
type lifetime struct {
	start, end time.Time
	down       bool
}

// jobTally is what the operator saw of one job.
type jobTally struct {
	notices, recoveries, uploads int
	missed                       int // Streak.Missed of the last notice
}

// runLifetimes runs two */15 export jobs on one store through each lifetime
// in turn (a restart between spans) and returns the tallies per job and
// the log lines per level.
func runLifetimes(t *testing.T, spans []lifetime) (map[string]*jobTally, map[slog.Level]int) {
	t.Helper()
	st := openStore(t)
	logs := &levelCounter{n: map[slog.Level]int{}}
	tally := map[string]*jobTally{}
	for _, sp := range spans {
		var down atomic.Bool
		down.Store(sp.down)
		var wg sync.WaitGroup
		for _, job := range []string{"quarterly-a", "quarterly-b"} {
			if tally[job] == nil {
				tally[job] = &jobTally{}
			}
			tl := tally[job]
			sched, err := ParseSchedule("*/15 * * * *", "UTC")
			if err != nil {
				t.Fatal(err)
			}
			remote := newFakeRemote()
			ctx, cancel := context.WithCancel(context.Background())
			clock := &fakeClock{now: sp.start, end: sp.end, stop: cancel}
			r := &Runner{Spec: mustSpec(t, job, "tuotempo/export", map[string]string{"timezone": "UTC"}), Schedule: sched, Store: st,
				Clock: clock, Options: RunOptions{Log: slog.New(logs)},
				Open: func(context.Context) (connectors.Remote, error) {
					if down.Load() {
						return nil, errors.New("dial tcp: connection refused")
					}
					return remote, nil
				},
				OnFailure: func(_ Slot, _ Result, _ error, s Streak) { tl.notices++; tl.missed = s.Missed },
				OnRecover: func(Slot, Result, Streak) { tl.recoveries++ },
				OnSuccess: func(ctx context.Context, _ Slot, _ Result) {
					if logging.RequestID(ctx) == "" { // the caller's "uploaded" line names the run
						t.Error("OnSuccess's context carries no run id")
					}
					tl.uploads++
				},
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer cancel()
				if err := r.Run(ctx); !errors.Is(err, context.Canceled) {
					t.Errorf("Run: %v", err)
				}
			}()
		}
		wg.Wait()
	}
	return tally, logs.n
}

// TestRunnerNoticesOncePerStreak: with an unreachable server, each job
// sends one notice per failure streak — not one per slot missed while
// down, and not again after a restart in the middle of the streak; a
// success ends the streak.
func TestRunnerNoticesOncePerStreak(t *testing.T) {
	day := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		spans      []lifetime
		notices    int // per job
		recoveries int // per job
		minMissed  int // Streak.Missed of the last notice, at least
		maxMissed  int // and at most (-1: no bound)
		maxErrors  int // ERROR log lines, all jobs
	}{
		{"a restart after a day down sends one notice per job", []lifetime{
			{day, day.Add(time.Hour), true},
			{day.Add(25 * time.Hour), day.Add(27 * time.Hour), true},
		}, 1, 0, 0, -1, 2},
		{"first start: one notice, and a job that never ran missed nothing", []lifetime{
			{day, day.Add(30 * time.Minute), true},
		}, 1, 0, 0, 0, 2},
		{"a restart after a day down counts the slots missed while down", []lifetime{
			{day, day.Add(time.Hour), false},
			{day.Add(25 * time.Hour), day.Add(26 * time.Hour), true},
		}, 1, 0, 90, 96, 2},
		{"a restart a minute later counts no missed slot", []lifetime{
			{day, day.Add(time.Hour), true},
			{day.Add(time.Hour + time.Minute), day.Add(2 * time.Hour), true},
		}, 1, 0, 0, 0, 2},
		{"a recovery ends the streak; the next failure notices again", []lifetime{
			{day, day.Add(time.Hour), true},
			{day.Add(time.Hour), day.Add(2 * time.Hour), false},
			{day.Add(2 * time.Hour), day.Add(3 * time.Hour), true},
		}, 2, 1, 0, -1, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tally, levels := runLifetimes(t, tc.spans)
			for job, tl := range tally {
				if tl.notices != tc.notices || tl.recoveries != tc.recoveries {
					t.Errorf("%s: %d notices and %d recoveries, want %d and %d (%d uploads)", job, tl.notices, tl.recoveries, tc.notices, tc.recoveries, tl.uploads)
				}
				if tl.missed < tc.minMissed || (tc.maxMissed >= 0 && tl.missed > tc.maxMissed) {
					t.Errorf("%s: the notice counts %d missed slots, want %d to %d", job, tl.missed, tc.minMissed, tc.maxMissed)
				}
			}
			if levels[slog.LevelError] > tc.maxErrors {
				t.Errorf("%d ERROR lines, want at most %d (%v)", levels[slog.LevelError], tc.maxErrors, levels)
			}
		})
	}
}

// TestStreakRoundTrip: a streak survives the store; the zero one clears it.
func TestStreakRoundTrip(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	want := Streak{Failures: 3, Missed: 95, Since: time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC), Notified: true}
	for _, s := range []Streak{want, {Failures: 1, Since: want.Since}, want} {
		if err := saveStreak(ctx, st, "j", s); err != nil {
			t.Fatal(err)
		}
		if got, err := loadStreak(ctx, st, "j"); err != nil || got != s {
			t.Fatalf("loaded %+v, %v; want %+v", got, err, s)
		}
	}
	if err := saveStreak(ctx, st, "j", Streak{}); err != nil {
		t.Fatal(err)
	}
	if got, err := loadStreak(ctx, st, "j"); err != nil || got != (Streak{}) {
		t.Fatalf("after clearing: %+v, %v", got, err)
	}
}
