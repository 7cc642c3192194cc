package delivery

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// slowVendor is a destination that takes delay to answer, or, with delay
// 0, answers only when the attempt's context ends.
type slowVendor struct {
	delay   time.Duration
	entered chan struct{}
	calls   atomic.Int32
}

func (v *slowVendor) call(ctx context.Context) error {
	v.calls.Add(1)
	select {
	case v.entered <- struct{}{}:
	default:
	}
	if v.delay == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(v.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *slowVendor) Deliver(ctx context.Context, _ connectors.Delivery) (connectors.Result, error) {
	if err := v.call(ctx); err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{VendorID: "v-1"}, nil
}

// TestDrainGrace stops Run while an attempt is in flight: within the
// grace the attempt finishes and its outcome is recorded; past it the
// attempt is interrupted and its job handed back, due now, with no owner
// nor lease. Nothing is claimed once Run's context has ended.
func TestDrainGrace(t *testing.T) {
	for _, tt := range []struct {
		name   string
		worker bool          // a worker flow (EnqueueWork) rather than a resource's
		delay  time.Duration // the vendor's answer time; 0: never
		grace  time.Duration
		want   State
	}{
		{name: "answer within the grace", delay: 300 * time.Millisecond, grace: 5 * time.Second, want: StateDelivered},
		{name: "work within the grace", worker: true, delay: 300 * time.Millisecond, grace: 5 * time.Second, want: StateDelivered},
		{name: "hang past the grace", grace: 50 * time.Millisecond, want: StatePending},
		{name: "work hangs past the grace", worker: true, grace: 50 * time.Millisecond, want: StatePending},
		{name: "no grace", delay: 300 * time.Millisecond, want: StatePending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, storeURL(t))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			v := &slowVendor{delay: tt.delay, entered: make(chan struct{}, 1)}
			flow := Flow{Connector: v, Vendor: "slow"}
			if tt.worker {
				flow = Flow{Work: func(ctx context.Context, _ Work) error { return v.call(ctx) }, Vendor: "slow"}
			}
			r, err := NewRunner(ctx, st, map[string]Flow{"slow": flow},
				Options{PollInterval: 5 * time.Millisecond, Grace: tt.grace})
			if err != nil {
				t.Fatal(err)
			}
			enqueue := func(n string) {
				t.Helper()
				err := st.InTx(ctx, func(tx *store.Tx) error {
					if tt.worker {
						_, err := EnqueueWork(ctx, tx, WorkJob{Flow: "slow", Kind: "event", Key: n, Data: []byte(`{}`)})
						return err
					}
					ver, _, err := tx.PutResource(ctx, "Patient", n, []byte(`{"resourceType":"Patient","id":"`+n+`"}`))
					if err != nil {
						return err
					}
					return Enqueue(ctx, tx, Job{Flow: "slow", ResourceType: "Patient", ResourceID: n, Version: ver})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			enqueue("p1")
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(runCtx) }()
			select {
			case <-v.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("the attempt never reached the vendor")
			}
			stopped := time.Now()
			stop()
			enqueue("p2") // while draining: must not be claimed
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return 10 s after its context ended")
			}
			took := time.Since(stopped)
			if tt.grace > 0 && tt.want == StatePending && took < tt.grace {
				t.Errorf("Run returned %s after the stop, before the grace (%s) was up", took, tt.grace)
			}
			if tt.want == StateDelivered && took > tt.grace {
				t.Errorf("Run returned %s after the stop, grace %s", took, tt.grace)
			}

			js, err := r.Queue().List(ctx, Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(js) != 2 {
				t.Fatalf("%d jobs, want 2: %+v", len(js), js)
			}
			j1, j2 := js[0], js[1]
			if j1.State != tt.want || j1.Attempts != 1 {
				t.Errorf("job 1: state %s, %d attempts; want %s, 1 attempt (%+v)", j1.State, j1.Attempts, tt.want, j1)
			}
			if tt.want == StatePending {
				if j1.RunAt.After(time.Now()) {
					t.Errorf("job 1 handed back due at %s, not now", j1.RunAt)
				}
				if j1.LastError != "interrupted by shutdown" {
					t.Errorf("job 1 last error %q", j1.LastError)
				}
			}
			var owner string
			var lease int64
			if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT owner, lease_until FROM delivery_jobs WHERE id = ?`), j1.ID).Scan(&owner, &lease); err != nil {
				t.Fatal(err)
			}
			if owner != "" || lease != 0 {
				t.Errorf("job 1 still held: owner %q, lease %d", owner, lease)
			}
			if j2.State != StatePending || j2.Attempts != 0 {
				t.Errorf("job 2, enqueued while draining: state %s, %d attempts; want pending, never tried", j2.State, j2.Attempts)
			}
			if n := v.calls.Load(); n != 1 {
				t.Errorf("the vendor was called %d times, want 1", n)
			}
			if tt.want == StatePending {
				// not a failure: the destination's circuit is untouched
				if s := r.cb.state("slow", time.Now()); s != circuitClosed {
					t.Errorf("circuit %v after an interrupted attempt", s)
				}
			}
		})
	}
}
