package ehr

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// queueEnv is a store file, a fake EHR and the one delivery queue with the
// EHR flow: write-backs go through the same Runner as every delivery.
type queueEnv struct {
	t       *testing.T
	path    string
	st      *store.Store
	fake    *fakeEHR
	conn    *Connector
	mu      sync.Mutex
	retries []delivery.RetryEvent
	logger  *slog.Logger // the Runner's (discarded when nil)
}

func newQueueEnv(t *testing.T, script ...answer) *queueEnv {
	t.Helper()
	e := &queueEnv{t: t, path: filepath.Join(t.TempDir(), "fhirbridge.db")}
	e.fake, e.conn = newFake(t, script...)
	e.open()
	return e
}

// open opens the store: a (re)started bridge.
func (e *queueEnv) open() {
	e.t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.st = st
}

// put stores a Patient version and enqueues its write-back in the same
// transaction, as batch/inbound and connectors/solo/solostatus do.
func (e *queueEnv) put(id string) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		v, _, err := tx.PutResource(ctx, "Patient", id, []byte(patient(e.t, id).JSON()))
		if err != nil {
			return err
		}
		return delivery.Enqueue(ctx, tx, delivery.Job{Flow: delivery.EHRFlow, ResourceType: "Patient", ResourceID: id, Version: v})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// putRes stores res (any type) and enqueues its write-back.
func (e *queueEnv) putRes(res *fhir.Value) {
	e.t.Helper()
	ctx := context.Background()
	typ, id := res.ResourceType(), res.GetString("id")
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		v, _, err := tx.PutResource(ctx, typ, id, res.JSON())
		if err != nil {
			return err
		}
		return delivery.Enqueue(ctx, tx, delivery.Job{Flow: delivery.EHRFlow, ResourceType: typ, ResourceID: id, Version: v})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// run runs a Runner with only the EHR flow until cond holds (or fails the
// test after 10 s), then stops it.
func (e *queueEnv) run(opt delivery.Options, what string, cond func([]delivery.JobInfo) bool) []delivery.JobInfo {
	e.t.Helper()
	opt.PollInterval = 10 * time.Millisecond
	if opt.Logger == nil {
		opt.Logger = e.logger
	}
	opt.OnRetry = func(ev delivery.RetryEvent) { e.mu.Lock(); e.retries = append(e.retries, ev); e.mu.Unlock() }
	if opt.Jitter == nil {
		opt.Jitter = func(max time.Duration) time.Duration { return max }
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := delivery.NewRunner(ctx, e.st, map[string]delivery.Flow{delivery.EHRFlow: {Connector: e.conn, Vendor: delivery.EHRFlow}}, opt)
	if err != nil {
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs, err := r.Queue().List(context.Background(), delivery.Filter{Flow: delivery.EHRFlow})
		if err != nil {
			e.t.Fatal(err)
		}
		if cond(jobs) {
			return jobs
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: jobs %+v", what, jobs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *queueEnv) events() []delivery.RetryEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]delivery.RetryEvent(nil), e.retries...)
}

func state(s delivery.State) func([]delivery.JobInfo) bool {
	return func(jobs []delivery.JobInfo) bool { return len(jobs) == 1 && jobs[0].State == s }
}

// TestQueueRetries: the write-back is retried by the delivery Runner with
// its backoff (doubling caps), a Retry-After longer than the backoff wins,
// a permanent refusal is a dead letter at once, and a transient failure is
// one after MaxAttempts.
func TestQueueRetries(t *testing.T) {
	base := 20 * time.Millisecond
	tests := []struct {
		name     string
		script   []answer
		opt      delivery.Options
		want     delivery.State     // final job state
		requests int                // PUTs the EHR saw
		delays   []time.Duration    // delays of the retries scheduled
		classes  []connectors.Class // and their classes
	}{
		{name: "backoff doubles then delivered", script: []answer{{status: 503}, {status: 502}},
			want: delivery.StateDelivered, requests: 3, delays: []time.Duration{base, 2 * base},
			classes: []connectors.Class{connectors.Transient, connectors.Transient}},
		{name: "Retry-After wins over the backoff", script: []answer{{status: 429, retryAfter: "1"}},
			want: delivery.StateDelivered, requests: 2, delays: []time.Duration{time.Second},
			classes: []connectors.Class{connectors.Transient}},
		{name: "401 dead at once", script: []answer{{status: 401}},
			want: delivery.StateDeadLetter, requests: 1},
		{name: "422 dead at once", script: []answer{{status: 422}},
			want: delivery.StateDeadLetter, requests: 1},
		{name: "dead after MaxAttempts", script: []answer{{status: 503}, {status: 503}, {status: 503}},
			opt: delivery.Options{MaxAttempts: 3}, want: delivery.StateDeadLetter, requests: 3,
			delays:  []time.Duration{base, 2 * base},
			classes: []connectors.Class{connectors.Transient, connectors.Transient}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newQueueEnv(t, tc.script...)
			e.put("p1")
			tc.opt.BackoffBase, tc.opt.BackoffMax = base, time.Second
			jobs := e.run(tc.opt, tc.name, state(tc.want))
			if got := len(e.fake.requests()); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
			if tc.want == delivery.StateDeadLetter && jobs[0].LastError == "" {
				t.Error("dead letter without a reason")
			}
			ev := e.events()
			if len(ev) != len(tc.delays) {
				t.Fatalf("retries %+v, want delays %v", ev, tc.delays)
			}
			for i, d := range tc.delays {
				if ev[i].Delay != d || ev[i].Class != tc.classes[i] {
					t.Errorf("retry %d: delay %s class %s, want %s %s", i+1, ev[i].Delay, ev[i].Class, d, tc.classes[i])
				}
			}
		})
	}
}

// TestQueueSurvivesRestart: a write-back that failed before the bridge
// stopped is in the store and is sent by the next run's Runner once due.
func TestQueueSurvivesRestart(t *testing.T) {
	e := newQueueEnv(t, answer{status: 503})
	e.put("p1")
	opt := delivery.Options{BackoffBase: 300 * time.Millisecond, BackoffMax: time.Second}
	e.run(opt, "first failure", func(jobs []delivery.JobInfo) bool {
		return len(jobs) == 1 && jobs[0].Attempts == 1 && jobs[0].State == delivery.StatePending
	})
	e.st.Close()
	e.open()
	jobs := e.run(opt, "after the restart", state(delivery.StateDelivered))
	if jobs[0].Attempts != 2 {
		t.Errorf("attempts %d, want 2", jobs[0].Attempts)
	}
	if got := len(e.fake.requests()); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
}
