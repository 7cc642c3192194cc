package export

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestScheduleNext: Next over the Europe/Madrid DST changes of 2026
// (spring forward 2026-03-29 02:00 CET → 03:00 CEST = 01:00Z; fall back
// 2026-10-25 03:00 CEST → 02:00 CET = 01:00Z).
func TestScheduleNext(t *testing.T) {
	cases := []struct {
		name, expr, zone string
		after            string
		want             string // UTC
		wantKey          string
	}{
		{"ordinary day", "30 2 * * *", "Europe/Madrid", "2026-03-27T12:00:00Z", "2026-03-28T01:30:00Z", "2026-03-28T02:30 Europe/Madrid"},
		{"spring forward: 02:30 does not exist, runs at 03:00 CEST", "30 2 * * *", "Europe/Madrid", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:30 Europe/Madrid"},
		{"after the spring run: next day", "30 2 * * *", "Europe/Madrid", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-30T02:30 Europe/Madrid"},
		{"fall back: the first 02:30 (CEST)", "30 2 * * *", "Europe/Madrid", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:30 Europe/Madrid"},
		{"fall back: not again at the second 02:30 (CET)", "30 2 * * *", "Europe/Madrid", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-26T02:30 Europe/Madrid"},
		{"fall back: asked between the two passes", "30 2 * * *", "Europe/Madrid", "2026-10-25T01:10:00Z", "2026-10-26T01:30:00Z", "2026-10-26T02:30 Europe/Madrid"},
		{"02:00 is the gap's first minute", "0 2 * * *", "Europe/Madrid", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00 Europe/Madrid"},
		{"every 15 min in the gap: one run at 03:00", "*/15 2 * * *", "Europe/Madrid", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z", "2026-03-30T02:00 Europe/Madrid"},
		{"every 4 hours, local", "0 */4 * * *", "Europe/Madrid", "2026-12-01T05:00:00Z", "2026-12-01T07:00:00Z", "2026-12-01T08:00 Europe/Madrid"},
		{"UTC by default", "0 6 * * *", "", "2026-12-01T05:00:00Z", "2026-12-01T06:00:00Z", "2026-12-01T06:00 UTC"},
		{"New York spring forward", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T02:30 America/New_York"},
		{"@daily", "@daily", "Europe/Madrid", "2026-12-01T05:00:00Z", "2026-12-01T23:00:00Z", "2026-12-02T00:00 Europe/Madrid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSchedule(tc.expr, tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			slot := s.NextSlot(utc(tc.after))
			if !slot.At.Equal(utc(tc.want)) || slot.Key != tc.wantKey {
				t.Errorf("NextSlot(%s) = %s %q, want %s %q", tc.after, slot.At.UTC().Format(time.RFC3339), slot.Key, tc.want, tc.wantKey)
			}
		})
	}
}

// TestParseScheduleErrors refuses what cannot run.
func TestParseScheduleErrors(t *testing.T) {
	for _, tc := range []struct{ expr, zone string }{
		{"", "UTC"}, {"61 * * * *", "UTC"}, {"30 2 * * *", "Mars/Olympus"}, {"30 2 * * *", "Local"},
		{"CRON_TZ=Europe/Madrid 30 2 * * *", "UTC"}, {"0 0 30 2 *", "UTC"}, {"* * * * * *", "UTC"}, {"@every 4h", "UTC"},
	} {
		if _, err := ParseSchedule(tc.expr, tc.zone); !errors.Is(err, ErrSchedule) {
			t.Errorf("ParseSchedule(%q, %q) = %v, want ErrSchedule", tc.expr, tc.zone, err)
		}
	}
}

// runnerRuns runs a Runner for the daily 02:30 Madrid export from start to
// end on st and returns the instants of its uploads (UTC).
func runnerRuns(t *testing.T, r *Runner, start, end time.Time) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := &fakeClock{now: start, end: end, stop: cancel}
	var runs []string
	r.Clock = clock
	r.OnSuccess = func(_ context.Context, s Slot, res Result) {
		runs = append(runs, clock.Now().UTC().Format(time.RFC3339)+" "+res.File)
	}
	r.OnFailure = func(s Slot, res Result, err error, _ Streak) { t.Errorf("slot %s: %v", s.Key, err) }
	if err := r.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	return runs
}

func dailyRunner(t *testing.T) *Runner {
	st := openStore(t)
	sched, err := ParseSchedule("30 2 * * *", "Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	spec := mustSpec(t, "tuotempo-daily", "tuotempo/export", map[string]string{"timezone": "Europe/Madrid"})
	remote := newFakeRemote()
	return &Runner{Spec: spec, Schedule: sched, Store: st,
		Open: func(context.Context) (connectors.Remote, error) { return remote, nil }}
}

// TestRunnerDST: a daily 02:30 Europe/Madrid export runs exactly once per
// local day over both DST changes of 2026, at 03:00 on the spring-forward
// day and at the first 02:30 on the fall-back day.
func TestRunnerDST(t *testing.T) {
	cases := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"spring forward", time.Date(2026, 3, 28, 0, 0, 0, 0, madrid), time.Date(2026, 4, 1, 0, 0, 0, 0, madrid), []string{
			"2026-03-28T01:30:00Z appointments_20260328T0230.csv",
			"2026-03-29T01:00:00Z appointments_20260329T0300.csv",
			"2026-03-30T00:30:00Z appointments_20260330T0230.csv",
			"2026-03-31T00:30:00Z appointments_20260331T0230.csv",
		}},
		{"fall back", time.Date(2026, 10, 24, 0, 0, 0, 0, madrid), time.Date(2026, 10, 28, 0, 0, 0, 0, madrid), []string{
			"2026-10-24T00:30:00Z appointments_20261024T0230.csv",
			"2026-10-25T00:30:00Z appointments_20261025T0230.csv",
			"2026-10-26T01:30:00Z appointments_20261026T0230.csv",
			"2026-10-27T01:30:00Z appointments_20261027T0230.csv",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dailyRunner(t)
			r.CatchUp = -1
			got := runnerRuns(t, r, tc.start, tc.end)
			if len(got) != len(tc.want) {
				t.Fatalf("runs %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("run %d at %s, want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestRunnerRestart: a restart after the day's slot ran does not run it
// again (also between the two passes of 02:30 on the fall-back day); a
// restart after a slot missed while down runs it once.
func TestRunnerRestart(t *testing.T) {
	cases := []struct {
		name                  string
		firstEnd, restartAt   time.Time // first runner until firstEnd; second from restartAt
		end                   time.Time
		wantFirst, wantSecond int
	}{
		{"mid-day restart after the slot ran", time.Date(2026, 3, 30, 9, 0, 0, 0, madrid), time.Date(2026, 3, 30, 12, 0, 0, 0, madrid),
			time.Date(2026, 3, 31, 0, 0, 0, 0, madrid), 1, 0},
		{"restart between the two 02:30 of the fall-back day", utc("2026-10-25T00:45:00Z"), utc("2026-10-25T01:10:00Z"),
			time.Date(2026, 10, 26, 0, 0, 0, 0, madrid), 1, 0},
		{"down at 02:30, back at 09:00: runs once on start", time.Date(2026, 3, 30, 1, 0, 0, 0, madrid), time.Date(2026, 3, 30, 9, 0, 0, 0, madrid),
			time.Date(2026, 3, 31, 0, 0, 0, 0, madrid), 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := dailyRunner(t)
			r.CatchUp = -1
			first := runnerRuns(t, r, tc.firstEnd.Add(-12*time.Hour), tc.firstEnd)
			r.CatchUp = 0
			second := runnerRuns(t, r, tc.restartAt, tc.end)
			if len(first) != tc.wantFirst || len(second) != tc.wantSecond {
				t.Errorf("runs before the restart %q, after %q; want %d and %d", first, second, tc.wantFirst, tc.wantSecond)
			}
			if n := len(ledgerEntries(t, r.Store)); n != tc.wantFirst+tc.wantSecond {
				t.Errorf("%d ledger entries, want %d", n, tc.wantFirst+tc.wantSecond)
			}
		})
	}
}
