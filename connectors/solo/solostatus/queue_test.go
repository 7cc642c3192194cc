package solostatus

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// flaky is a Solo whose appointment fetch fails the first n times with err.
type flaky struct {
	Solo
	mu    sync.Mutex
	n     int
	err   error
	calls int
}

func (f *flaky) AppointmentJSON(ctx context.Context, said string) ([]byte, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.n
	f.mu.Unlock()
	if fail {
		return nil, f.err
	}
	return f.Solo.AppointmentJSON(ctx, said)
}

// TestWebhookEventRetries: a received event is a job of WebhookFlow, and
// the one queue retries it: backoff doubling per attempt, the vendor's
// Retry-After honoured, dead-lettered after the flow's MaxAttempts (the
// config's webhooks.max_attempts), and the Appointment synced once Solo
// answers.
func TestWebhookEventRetries(t *testing.T) {
	base := time.Second
	for _, tc := range []struct {
		name     string
		fails    int
		err      error
		max      int
		want     string
		delays   []time.Duration
		versions int
	}{
		{"transient twice, then done", 2, errors.New("solo: status 503"), 5, StateDone, []time.Duration{base, 2 * base}, 2},
		{"Retry-After honoured", 1, connectors.Transiently(errors.New("solo: status 429"), 7*time.Second), 5, StateDone, []time.Duration{7 * time.Second}, 2},
		{"dead after max attempts", 10, errors.New("solo: status 503"), 3, StateDead, []time.Duration{base, 2 * base}, 1},
		{"permanent at once", 10, connectors.Permanently(errors.New("solo: status 400")), 5, StateDead, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			said := f.appointment(t, "appt-1", true)
			n, _ := strconv.Atoi(said)
			f.sim.SetAppointmentStatus(n, "completed", "")
			fl := &flaky{Solo: f.s.Solo, n: tc.fails, err: tc.err}
			f.s.Solo, f.s.MaxAttempts = fl, tc.max
			rc := &Receiver{Syncer: f.s, Token: testToken, Key: testKey}
			if code, _, _ := post(rc, testToken, event(t, testKey, "appointment:completed", said, "evt-1")); code != 200 {
				t.Fatalf("receiver answered %d", code)
			}
			clock := time.Now()
			var delays []time.Duration
			r, err := delivery.NewRunner(ctx, f.st, map[string]delivery.Flow{WebhookFlow: f.s.Flow()}, delivery.Options{
				BackoffBase: base, BreakerThreshold: 100, MaxAttempts: 10,
				Clock:   func() time.Time { return clock },
				Jitter:  func(max time.Duration) time.Duration { return max },
				OnRetry: func(e delivery.RetryEvent) { delays = append(delays, e.Delay) },
			})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 12; i++ {
				if _, err := r.Drain(ctx); err != nil {
					t.Fatal(err)
				}
				if i < len(delays) {
					// not due before its delay, due once it passed
					clock = clock.Add(delays[i] - time.Millisecond)
					if k, _ := r.Drain(ctx); k != 0 {
						t.Fatalf("retry %d worked %s before its delay", i+1, time.Millisecond)
					}
					clock = clock.Add(time.Millisecond)
				}
			}
			rows, err := f.s.Events(ctx)
			if err != nil || len(rows) != 1 {
				t.Fatalf("events %+v %v", rows, err)
			}
			if rows[0].State != tc.want || !equal(delays, tc.delays) {
				t.Fatalf("state %s delays %v, want %s %v (last error %q)", rows[0].State, delays, tc.want, tc.delays, rows[0].LastError)
			}
			if _, v := f.stored(t, "Appointment", "appt-1"); v != tc.versions {
				t.Errorf("Appointment at version %d, want %d", v, tc.versions)
			}
			jobs, _ := delivery.NewQueue(f.st).List(ctx, delivery.Filter{Flow: WebhookFlow, State: delivery.StateDeadLetter})
			if (tc.want == StateDead) != (len(jobs) == 1) {
				t.Errorf("dead letters listed by the queue: %+v", jobs)
			}
		})
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWebhookEventSurvivesRestart: an event acknowledged (200) is in the
// database when the receiver answers; one recorded by a process that
// stopped before working it, and one a process was working when it was
// killed (left in flight with a live lease), are worked by the next
// process's runner.
func TestWebhookEventSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var saids []string
	for _, id := range []string{"appt-1", "appt-2"} {
		said := f.appointment(t, id, true)
		n, _ := strconv.Atoi(said)
		f.sim.SetAppointmentStatus(n, "completed", "")
		saids = append(saids, said)
	}
	rc := &Receiver{Syncer: f.s, Token: testToken, Key: testKey}
	for i, said := range saids {
		if code, _, _ := post(rc, testToken, event(t, testKey, "appointment:completed", said, "evt-"+said)); code != 200 {
			t.Fatalf("event %d: %d", i, code)
		}
	}
	// the second was being worked by a process that died
	lease := time.Now().Add(time.Hour).UnixMicro()
	if _, err := f.st.DB().ExecContext(ctx, f.st.Rebind(`UPDATE delivery_jobs SET state = ?, attempts = 1, lease_until = ?
		WHERE flow = ? AND resource_id = ?`), delivery.StateInFlight, lease, WebhookFlow, "event:evt-"+saids[1]); err != nil {
		t.Fatal(err)
	}
	f.st.Close()
	st, err := store.Open(ctx, f.reopenURL)
	if err != nil {
		t.Fatal(err)
	}
	f.st, f.s.Store = st, st
	clock := time.Now()
	r, err := delivery.NewRunner(ctx, st, map[string]delivery.Flow{WebhookFlow: f.s.Flow()}, delivery.Options{
		Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if !st.SingleProcess() { // PostgreSQL: another instance may hold it until the lease ends
		clock = clock.Add(2 * time.Hour)
		if _, err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := f.s.Events(ctx)
	if len(rows) != 2 || rows[0].State != StateDone || rows[1].State != StateDone {
		t.Fatalf("events after the restart: %+v", rows)
	}
	for _, id := range []string{"appt-1", "appt-2"} {
		if a, _ := f.stored(t, "Appointment", id); a["status"] != "fulfilled" {
			t.Errorf("%s: status %v, want fulfilled", id, a["status"])
		}
	}
}
