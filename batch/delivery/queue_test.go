package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// TestConcurrentOpen: instances starting together on a fresh database all
// open it, the queue's migration line is applied once, and the queue works.
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	url := storeURL(t)
	var wg sync.WaitGroup
	stores := make(chan *store.Store, 6)
	errs := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := store.Open(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			stores <- st
		}()
	}
	wg.Wait()
	close(errs)
	close(stores)
	for err := range errs {
		t.Errorf("concurrent Open: %v (%v)", err, errors.Unwrap(err))
	}
	var st *store.Store
	for s := range stores {
		defer s.Close()
		st = s
	}
	if st == nil {
		t.Fatal("no store opened")
	}
	var n int
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE line = 'delivery'`).Scan(&n); err != nil || n != 8 {
		t.Fatalf("delivery line recorded %d versions (%v), want each of its 8 once", n, err)
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		return Enqueue(ctx, tx, Job{Flow: "f", ResourceType: "Patient", ResourceID: "p1", Version: 1})
	})
	if err != nil {
		t.Fatalf("enqueueing after concurrent Open: %v", err)
	}
}

// TestTwoRunnersShareQueue: two runners on one database deliver every job
// exactly once.
func TestTwoRunnersShareQueue(t *testing.T) {
	e := newEnv(t, Options{Concurrency: 3})
	ctx := context.Background()
	st2, err := store.Open(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	r2, err := NewRunner(ctx, st2, e.flows, e.r.opt)
	if err != nil {
		t.Fatal(err)
	}
	const n = 24
	for i := range n {
		id := fmt.Sprintf("pat-%d", i)
		e.put(solo.FlowPatient, "Patient", id, patientJSON(id))
	}
	ctx2, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r2.Run(ctx2) }()
	defer func() { cancel(); <-done }()
	e.start()
	e.waitFor("all delivered", allDelivered(e, n))
	if got := len(e.sim.Patients()); got != n {
		t.Errorf("simulator has %d patients, want %d", got, n)
	}
	if got := len(e.requests("POST", "/qapi/v1/patients")); got != n {
		t.Errorf("%d creates, want %d", got, n)
	}
	for _, j := range e.jobs("") {
		if j.Attempts != 1 {
			t.Errorf("job %d attempts = %d, want 1", j.ID, j.Attempts)
		}
	}
}

// TestLeaseExpiry: a job whose worker died is claimed again after its
// lease, and counts a second attempt.
func TestLeaseExpiry(t *testing.T) {
	now := time.Now().Add(time.Second) // after the enqueue's run_at
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, Options{Lease: time.Minute, Clock: clock})
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	// after the enqueue's run_at however long opening the store took (a
	// new PostgreSQL database on a loaded machine can take over a second)
	mu.Lock()
	now = time.Now().Add(time.Second)
	mu.Unlock()
	ctx := context.Background()
	c, err := e.r.claim(ctx, "solo")
	if err != nil || len(c) != 1 || c[0].attempts != 1 {
		t.Fatalf("first claim = %+v, %v", c, err)
	}
	e.r.release("solo")
	if c, err := e.r.claim(ctx, "solo"); err != nil || len(c) != 0 {
		t.Fatalf("claim under a live lease = %+v, %v", c, err)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	c, err = e.r.claim(ctx, "solo")
	if err != nil || len(c) != 1 || c[0].attempts != 2 {
		t.Fatalf("claim after the lease = %+v, %v", c, err)
	}
	e.r.release("solo")
}

// TestQueueOps: duplicate enqueues, filters, limits, discard and retry.
func TestQueueOps(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	e.put(solo.FlowPatient, "Patient", "pat-1", patientJSON("pat-1"))
	e.put(solo.FlowPatient, "Patient", "pat-2", patientJSON("pat-2"))
	e.put(solo.FlowAppointment, "Appointment", "appt-1", apptJSON("appt-1", "pat-1"))
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		return Enqueue(ctx, tx, Job{Flow: solo.FlowPatient, ResourceType: "Patient", ResourceID: "pat-1", Version: 1})
	})
	if err != nil {
		t.Fatalf("duplicate Enqueue: %v", err)
	}
	q := e.r.Queue()
	all, err := q.List(ctx, Filter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("List = %d jobs, %v", len(all), err)
	}
	if js, err := q.List(ctx, Filter{Flow: solo.FlowPatient, State: StatePending, Limit: 1}); err != nil || len(js) != 1 || js[0].ID != all[0].ID {
		t.Fatalf("List limited = %+v, %v", js, err)
	}
	if err := q.Discard(ctx, all[1].ID); err != nil {
		t.Fatal(err)
	}
	if j, err := q.Show(ctx, all[1].ID); err != nil || j.State != StateDiscarded || j.ResourceID != "pat-2" {
		t.Fatalf("Show = %+v, %v", j, err)
	}
	if err := q.Discard(ctx, all[1].ID); !errors.Is(err, ErrState) {
		t.Fatalf("discarding twice: %v, want ErrState", err)
	}
	if err := q.Retry(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retrying a missing job: %v, want ErrNotFound", err)
	}
	if err := q.Retry(ctx, all[1].ID); err != nil {
		t.Fatal(err)
	}
	e.start()
	e.waitFor("all delivered", allDelivered(e, 3))
}
