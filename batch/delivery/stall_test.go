package delivery

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// errCommit stands for a COMMIT the database refused (disk full, failover,
// SQLITE_BUSY): the claim's statements ran, then nothing was kept.
var errCommit = errors.New("injected: committing transaction: database or disk is full")

// failCommits makes the runner's claim transactions fail at commit while
// *n > 0 (each failure decrements it; a negative n fails forever): the
// claim runs for real and is then rolled back. It returns a counter of
// the failures injected.
func failCommits(e *env, n *atomic.Int64) *atomic.Int64 {
	var failed atomic.Int64
	e.r.inTx = func(ctx context.Context, fn func(tx *store.Tx) error) error {
		return e.st.InTx(ctx, func(tx *store.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			for {
				left := n.Load()
				switch {
				case left == 0:
					return nil
				case left < 0 || n.CompareAndSwap(left, left-1):
					failed.Add(1)
					return errCommit
				}
			}
		})
	}
	return &failed
}

func stalledGauge(vendor, v string) string {
	return `# HELP fhirbridge_delivery_stalled 1 while a destination has due delivery jobs and no successful claim for longer than the stall threshold.
# TYPE fhirbridge_delivery_stalled gauge
fhirbridge_delivery_stalled{vendor="` + vendor + `"} ` + v + "\n"
}

// TestFailedClaimCommitGivesSlotsBack: a claim whose commit fails gives
// back every worker slot it reserved, so the jobs are delivered once the
// database recovers (before, each failure leaked the claimed jobs' slots
// and the vendor's workers stopped for good). While claims keep failing
// and jobs are due, the destination is reported stalled after StallAfter:
// Ready fails and fhirbridge_delivery_stalled is 1; both recover with it.
func TestFailedClaimCommitGivesSlotsBack(t *testing.T) {
	var skew atomic.Int64 // nanoseconds the test clock is ahead
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEnv(t, Options{Concurrency: 2, Clock: clock, StallAfter: 3 * time.Minute})
	var fail atomic.Int64
	fail.Store(3)
	failed := failCommits(e, &fail)
	ids := []string{"p1", "p2", "p3"}
	for _, id := range ids {
		e.put(solo.FlowPatient, "Patient", id, patientJSON(id))
	}
	e.start()
	e.waitFor("all delivered after the failed commits", allDelivered(e, len(ids)))
	if n := failed.Load(); n != 3 {
		t.Fatalf("%d commit failures injected, want 3", n)
	}
	e.waitFor("every slot given back", func() bool {
		e.r.mu.Lock()
		defer e.r.mu.Unlock()
		return e.r.inflight["solo"] == 0
	})
	ctx := context.Background()
	if err := e.r.Ready(ctx); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}

	// The database breaks for good: a new job is due and nothing claims it.
	fail.Store(-1)
	before := failed.Load()
	e.put(solo.FlowPatient, "Patient", "p4", patientJSON("p4"))
	e.waitFor("claims failing", func() bool { return failed.Load() > before+2 })
	if err := e.r.Ready(ctx); err != nil {
		t.Fatalf("Ready before the stall threshold: %v", err)
	}
	skew.Store(int64(4 * time.Minute))
	err := e.r.Ready(ctx)
	if !errors.Is(err, ErrStalled) || !errors.Is(err, server.ErrUnavailable) || !strings.Contains(err.Error(), "solo") {
		t.Fatalf("Ready with due jobs unclaimed past the threshold = %v, want ErrStalled naming solo", err)
	}
	if err := testutil.CollectAndCompare(e.r.Metrics(), strings.NewReader(stalledGauge("solo", "1")), "fhirbridge_delivery_stalled"); err != nil {
		t.Fatal(err)
	}

	// The database recovers: the job is claimed and delivered, the stall ends.
	fail.Store(0)
	e.waitFor("delivered after recovery", allDelivered(e, len(ids)+1))
	if err := e.r.Ready(ctx); err != nil {
		t.Fatalf("Ready after the stall ended: %v", err)
	}
	if err := testutil.CollectAndCompare(e.r.Metrics(), strings.NewReader(stalledGauge("solo", "0")), "fhirbridge_delivery_stalled"); err != nil {
		t.Fatal(err)
	}
}

// TestIdleQueueNeverStalls: with nothing due, a runner that has claimed
// nothing for longer than StallAfter is ready.
func TestIdleQueueNeverStalls(t *testing.T) {
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEnv(t, Options{Clock: clock, StallAfter: 3 * time.Minute})
	var fail atomic.Int64
	fail.Store(-1) // no claim ever succeeds, but nothing is due either
	failCommits(e, &fail)
	e.start()
	time.Sleep(20 * time.Millisecond)
	skew.Store(int64(time.Hour))
	if err := e.r.Ready(context.Background()); err != nil {
		t.Fatalf("Ready with an empty queue: %v", err)
	}
}

// TestStallThresholdAboveAttemptTimeout: a stall threshold no longer than
// the attempt timeout would report busy workers as stalled; it is refused.
func TestStallThresholdAboveAttemptTimeout(t *testing.T) {
	st, err := store.Open(context.Background(), storeURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = NewRunner(context.Background(), st, nil, Options{AttemptTimeout: time.Minute, StallAfter: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "stall threshold") {
		t.Fatalf("NewRunner = %v, want the stall threshold refused", err)
	}
}
