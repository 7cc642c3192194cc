package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// replica is one runner on its own store handle, as a serve replica.
type replica struct {
	st     *store.Store
	r      *Runner
	cancel context.CancelFunc
	done   chan error
}

// openReplica opens url and builds a runner of flows on it, sharing the
// queue with the other replicas (Shared keeps NewRunner from ending their
// leases on SQLite). join, when set, makes the replica's cluster node.
func openReplica(t *testing.T, url string, flows map[string]Flow, opt Options, join func(*store.Store) *cluster.Node) *replica {
	t.Helper()
	ctx := context.Background()
	// On SQLite the replicas share one store, as runners in one process
	// would (SQLite serves one process; several handles on one file
	// contend for its lock and starve each other's claims under -race).
	var st *store.Store
	owned := true
	if v, ok := sqliteStores.Load(url); ok {
		st, owned = v.(*store.Store), false
	} else {
		var err error
		if st, err = store.Open(ctx, url); err != nil {
			t.Fatal(err)
		}
		if st.SingleProcess() {
			sqliteStores.Store(url, st)
		}
	}
	closeStore := func() {
		if owned {
			sqliteStores.Delete(url)
			st.Close()
		}
	}
	if join != nil {
		opt.Node = join(st)
	}
	opt.Shared = true
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opt.PollInterval == 0 {
		opt.PollInterval = 20 * time.Millisecond
	}
	r, err := NewRunner(ctx, st, flows, opt)
	if err != nil {
		closeStore()
		t.Fatal(err)
	}
	rep := &replica{st: st, r: r}
	t.Cleanup(func() { rep.stop(); closeStore() })
	return rep
}

// sqliteStores holds the open store of each SQLite file openReplica
// shares among replicas.
var sqliteStores sync.Map

// testLog writes a runner's warnings to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (p *replica) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	go func() { p.done <- p.r.Run(ctx) }()
}

func (p *replica) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
		p.cancel = nil
	}
}

// enqueueWork adds n worker jobs of flow.
func enqueueWork(t *testing.T, st *store.Store, flow string, n int) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		for i := range n {
			if _, err := EnqueueWork(context.Background(), tx, WorkJob{Flow: flow, Kind: "test", Key: fmt.Sprintf("%s-%d", flow, i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitJobs waits up to 20 s until cond holds for the queue's jobs.
func waitJobs(t *testing.T, q *Queue, what string, cond func([]JobInfo) bool) []JobInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		js, err := q.List(context.Background(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if cond(js) {
			return js
		}
		if time.Now().After(deadline) {
			byState := map[State]int{}
			for _, j := range js {
				byState[j.State]++
			}
			var open []JobInfo
			for _, j := range js {
				if j.State != StateDelivered {
					open = append(open, j)
				}
			}
			t.Fatalf("timed out waiting for %s; jobs by state: %v; not delivered: %+v", what, byState, open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countState(js []JobInfo, s State) int {
	n := 0
	for _, j := range js {
		if j.State == s {
			n++
		}
	}
	return n
}

// TestReplicasRespectVendorLimits: three runners on one store (three
// replicas) together never hold more of a vendor's jobs than its
// concurrency, nor more of a flow's than the flow's, though each alone
// would have room for more; and the attempts they start together keep to
// the vendor's rate, and a flow's to the flow's rate, over every window.
func TestReplicasRespectVendorLimits(t *testing.T) {
	t.Run("concurrency", func(t *testing.T) {
		url := storeURL(t)
		var cur, peak, flowCur, flowPeak atomic.Int64
		raise := func(c, p *atomic.Int64) {
			n := c.Add(1)
			for old := p.Load(); n > old && !p.CompareAndSwap(old, n); old = p.Load() {
			}
		}
		work := func(limited bool) WorkFunc {
			return func(ctx context.Context, w Work) error {
				raise(&cur, &peak)
				if limited {
					raise(&flowCur, &flowPeak)
					defer flowCur.Add(-1)
				}
				defer cur.Add(-1)
				time.Sleep(15 * time.Millisecond)
				return nil
			}
		}
		flows := map[string]Flow{"v/a": {Work: work(false), Vendor: "v"}, "v/b": {Work: work(true), Vendor: "v"}}
		opt := Options{Concurrency: 8, Vendors: map[string]Limit{"v": {Concurrency: 3}}, Flows: map[string]Limit{"v/b": {Concurrency: 1}}}
		var reps []*replica
		for range 3 {
			reps = append(reps, openReplica(t, url, flows, opt, nil))
		}
		enqueueWork(t, reps[0].st, "v/a", 40)
		enqueueWork(t, reps[0].st, "v/b", 20)
		for _, p := range reps {
			p.start()
		}
		waitJobs(t, reps[0].r.Queue(), "every job delivered", func(js []JobInfo) bool { return countState(js, StateDelivered) == 60 })
		if p := peak.Load(); p != 3 {
			t.Errorf("peak jobs in flight = %d, want the vendor's concurrency 3 (reached, never exceeded)", p)
		}
		if p := flowPeak.Load(); p != 1 {
			t.Errorf("peak v/b jobs in flight = %d, want the flow's concurrency 1", p)
		}
		var throttled float64
		for _, p := range reps {
			throttled += testutil.ToFloat64(p.r.metrics.limits.throttled.WithLabelValues("v", throttledConcurrency))
		}
		if throttled == 0 {
			t.Error("no claim counted as throttled by concurrency")
		}
	})
	t.Run("rate", func(t *testing.T) {
		url := storeURL(t)
		const rate, burst, jobs = 20.0, 2, 24
		var mu sync.Mutex
		var starts []time.Time
		flows := map[string]Flow{"r/a": {Vendor: "r", Work: func(ctx context.Context, w Work) error {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			return nil
		}}}
		opt := Options{Concurrency: 8, Vendors: map[string]Limit{"r": {Rate: Rate{N: 20, Per: time.Second}, Burst: burst}}}
		var reps []*replica
		for range 3 {
			reps = append(reps, openReplica(t, url, flows, opt, nil))
		}
		enqueueWork(t, reps[0].st, "r/a", jobs)
		for _, p := range reps {
			p.start()
		}
		waitJobs(t, reps[0].r.Queue(), "every job delivered", func(js []JobInfo) bool { return countState(js, StateDelivered) == jobs })
		mu.Lock()
		defer mu.Unlock()
		checkRate(t, "vendor r", starts, rate, burst)
	})
	t.Run("flow rate", func(t *testing.T) {
		// the vendor allows 20/s; its flow f/a allows 4/s of them and f/b
		// only the vendor's: f/a keeps to its own rate, both together to
		// the vendor's, and f/b is not held to f/a's
		url := storeURL(t)
		const vendorRate, vendorBurst, flowRate, flowBurst = 20.0, 2, 4.0, 1
		const jobsA, jobsB = 6, 20
		var mu sync.Mutex
		starts := map[string][]time.Time{}
		work := func(ctx context.Context, w Work) error {
			mu.Lock()
			starts[w.Flow] = append(starts[w.Flow], time.Now())
			mu.Unlock()
			return nil
		}
		flows := map[string]Flow{"f/a": {Vendor: "f", Work: work}, "f/b": {Vendor: "f", Work: work}}
		opt := Options{Concurrency: 8,
			Vendors: map[string]Limit{"f": {Rate: Rate{N: 20, Per: time.Second}, Burst: vendorBurst}},
			Flows:   map[string]Limit{"f/a": {Rate: Rate{N: 240, Per: time.Minute}, Burst: flowBurst}}}
		var reps []*replica
		for range 3 {
			reps = append(reps, openReplica(t, url, flows, opt, nil))
		}
		enqueueWork(t, reps[0].st, "f/a", jobsA)
		enqueueWork(t, reps[0].st, "f/b", jobsB)
		for _, p := range reps {
			p.start()
		}
		waitJobs(t, reps[0].r.Queue(), "every job delivered", func(js []JobInfo) bool { return countState(js, StateDelivered) == jobsA+jobsB })
		mu.Lock()
		defer mu.Unlock()
		if len(starts["f/a"]) != jobsA || len(starts["f/b"]) != jobsB {
			t.Fatalf("attempts by flow: f/a %d, f/b %d; want %d, %d", len(starts["f/a"]), len(starts["f/b"]), jobsA, jobsB)
		}
		checkRate(t, "flow f/a", starts["f/a"], flowRate, flowBurst)
		all := append(slices.Clone(starts["f/a"]), starts["f/b"]...)
		checkRate(t, "vendor f (both flows)", all, vendorRate, vendorBurst)
		// f/b, bound by the vendor's rate alone, goes faster than f/a's
		// 4/s would let it
		slices.SortFunc(starts["f/b"], func(a, b time.Time) int { return a.Compare(b) })
		if d := starts["f/b"][jobsB-1].Sub(starts["f/b"][0]); d.Seconds() > float64(jobsB)/flowRate*0.9 {
			t.Errorf("f/b took %s for %d attempts: held to f/a's rate", d, jobsB)
		}
		var throttled float64
		for _, p := range reps {
			throttled += testutil.ToFloat64(p.r.metrics.limits.throttled.WithLabelValues("f", throttledFlowRate))
		}
		if throttled == 0 {
			t.Error("no claim counted as throttled by the flow's rate")
		}
	})
}

// checkRate fails t when the attempts started at starts (of what: a
// vendor, a flow) went faster than rate per second with burst: overall,
// and in every window [i, j], which may hold at most burst + rate·(its
// length + startLag) attempts, and one more. The limits hold at the
// claims; an attempt starts a little after its claim commits, and a
// loaded machine may delay one attempt up to startLag and start it with
// the next claim's.
func checkRate(t *testing.T, what string, starts []time.Time, rate float64, burst int) {
	t.Helper()
	const startLag = 100 * time.Millisecond
	starts = slices.Clone(starts)
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	if d := starts[len(starts)-1].Sub(starts[0]); d.Seconds() < float64(len(starts)-burst)/rate*0.9 {
		t.Errorf("%s: %d attempts in %s, faster than %v/s with a burst of %d", what, len(starts), d, rate, burst)
	}
	for i := range starts {
		for j := i; j < len(starts); j++ {
			allowed := float64(burst) + rate*(starts[j].Sub(starts[i])+startLag).Seconds() + 1
			if float64(j-i+1) > allowed {
				t.Fatalf("%s: %d attempts within %s: more than the rate allows (%.1f)", what, j-i+1, starts[j].Sub(starts[i]), allowed)
			}
		}
	}
}

// fakeClock is a clock the test moves by hand, shared by cluster nodes.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestDeadNodeJobsReclaimed: the jobs a replica holds when it stops
// beating (killed) are claimed by another replica as soon as its node
// reaps the dead one, long before their lease ends; and when the dead
// replica wakes up, it can change neither a job the other now holds nor
// one the other delivered.
func TestDeadNodeJobsReclaimed(t *testing.T) {
	url := storeURL(t)
	ctx := context.Background()
	clk := &fakeClock{t: time.Now()}
	join := func(st *store.Store) *cluster.Node {
		n, err := cluster.Join(ctx, st, cluster.Options{Heartbeat: time.Second, DeadAfter: 3 * time.Second, Clock: clk.Now,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// a's work blocks until released, then succeeds (or fails, for k2)
	releaseA, releaseB := make(chan struct{}), make(chan struct{})
	var aStarted, bStarted atomic.Int64
	flowsA := map[string]Flow{"k/a": {Vendor: "k", Work: func(ctx context.Context, w Work) error {
		aStarted.Add(1)
		<-releaseA
		if w.Key == "k/a-1" {
			return errors.New("a late failure")
		}
		return nil
	}}}
	flowsB := map[string]Flow{"k/a": {Vendor: "k", Work: func(ctx context.Context, w Work) error {
		bStarted.Add(1)
		if w.Key == "k/a-1" {
			<-releaseB // held by b while a wakes up
		}
		return nil
	}}}
	// a's two slots stay full with its blocked jobs: it claims nothing
	// more, as a killed process would not
	a := openReplica(t, url, flowsA, Options{Concurrency: 2}, join)
	b := openReplica(t, url, flowsB, Options{}, join)
	nodeB := b.r.opt.Node

	enqueueWork(t, a.st, "k/a", 2)
	a.start()
	waitJobs(t, a.r.Queue(), "a holding both jobs", func(js []JobInfo) bool {
		return countState(js, StateInFlight) == 2 && aStarted.Load() == 2
	})
	b.start()
	time.Sleep(100 * time.Millisecond) // b polls: the leases (5m) are live
	if n := bStarted.Load(); n != 0 {
		t.Fatalf("b worked %d jobs a holds", n)
	}

	// a stops beating; b's heartbeats go on past dead_after
	start := time.Now()
	for range 4 {
		clk.Add(time.Second)
		nodeB.Beat(ctx)
	}
	js := waitJobs(t, b.r.Queue(), "b taking over a's jobs", func(js []JobInfo) bool {
		return countState(js, StateDelivered) == 1 && bStarted.Load() == 2
	})
	t.Logf("a's jobs re-claimed by b %s after a was reaped", time.Since(start).Round(time.Millisecond))
	for _, j := range js {
		if j.Attempts != 2 {
			t.Errorf("job %d: %d attempts, want 2 (a's, then b's re-claim)", j.ID, j.Attempts)
		}
	}

	// a wakes: its outcomes (a success for one job, a failure for the
	// job b still holds) change nothing
	close(releaseA)
	waitFor := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(a.r.metrics.lost) < 2 {
		if time.Now().After(waitFor) {
			t.Fatalf("a recorded %v lost outcomes, want 2", testutil.ToFloat64(a.r.metrics.lost))
		}
		time.Sleep(10 * time.Millisecond)
	}
	js = waitJobs(t, b.r.Queue(), "the jobs as b left them", func([]JobInfo) bool { return true })
	if countState(js, StateDelivered) != 1 || countState(js, StateInFlight) != 1 {
		t.Fatalf("after a woke: %+v, want one delivered by b and one b still holds", js)
	}
	var owner string
	if err := b.st.DB().QueryRowContext(ctx, `SELECT owner FROM delivery_jobs WHERE state = 'in_flight'`).Scan(&owner); err != nil || owner != nodeB.ID() {
		t.Errorf("in-flight job owned by %q (%v), want b", owner, err)
	}
	close(releaseB)
	waitJobs(t, b.r.Queue(), "b delivering the last job", func(js []JobInfo) bool { return countState(js, StateDelivered) == 2 })
}

// TestLeaveHandsJobsBack: a node that leaves (graceful shutdown) hands
// back the jobs its runner still holds, and another claims them at once.
func TestLeaveHandsJobsBack(t *testing.T) {
	url := storeURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	node, err := cluster.Join(ctx, st, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	defer close(block)
	held := map[string]Flow{"l/a": {Vendor: "l", Work: func(ctx context.Context, w Work) error { <-block; return nil }}}
	r, err := NewRunner(ctx, st, held, Options{Node: node, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	enqueueWork(t, st, "l/a", 1)
	if _, err := r.claim(ctx, "l"); err != nil {
		t.Fatal(err)
	}
	if err := node.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	other := openReplica(t, url, map[string]Flow{"l/a": {Vendor: "l", Work: func(context.Context, Work) error { return nil }}}, Options{}, nil)
	got, err := other.r.claim(ctx, "l")
	if err != nil || len(got) != 1 || got[0].attempts != 2 {
		t.Fatalf("after leave, another runner claimed %+v (%v), want the job at its second attempt", got, err)
	}
}

// TestReclaimBySameOwnerFences: a node counted dead that joins again
// under its id and re-claims its own job cannot record the first claim's
// outcome: the guard names the claim (its attempt), not only the owner.
func TestReclaimBySameOwnerFences(t *testing.T) {
	url := storeURL(t)
	ctx := context.Background()
	p := openReplica(t, url, map[string]Flow{"s/a": {Vendor: "s", Work: func(context.Context, Work) error { return nil }}}, Options{Owner: "node-1"}, nil)
	enqueueWork(t, p.st, "s/a", 1)
	first, err := p.r.claim(ctx, "s")
	if err != nil || len(first) != 1 {
		t.Fatalf("first claim: %+v, %v", first, err)
	}
	if err := p.st.InTx(ctx, func(tx *store.Tx) error { return Reap(ctx, tx, []string{"node-1"}) }); err != nil {
		t.Fatal(err)
	}
	second, err := p.r.claim(ctx, "s")
	if err != nil || len(second) != 1 || second[0].attempts != 2 {
		t.Fatalf("re-claim after the reap: %+v, %v", second, err)
	}
	if err := p.r.setState(ctx, nil, first[0], StateDelivered, 1, time.Now(), ""); !errors.Is(err, errLost) {
		t.Fatalf("the first claim's outcome: %v, want errLost", err)
	}
	if err := p.r.setState(ctx, nil, second[0], StateDelivered, 2, time.Now(), ""); err != nil {
		t.Fatalf("the second claim's outcome: %v", err)
	}
	if got := testutil.ToFloat64(p.r.metrics.lost); got != 1 {
		t.Errorf("lost outcomes = %v, want 1", got)
	}
}

// TestLimitsChecked: negative limits are refused; the configured limits
// and the vendor's jobs in flight show in the runner's metrics.
func TestLimitsChecked(t *testing.T) {
	url := storeURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	flows := map[string]Flow{"m/a": {Vendor: "m", Work: func(context.Context, Work) error { return nil }}}
	for _, opt := range []Options{
		{Vendors: map[string]Limit{"m": {Concurrency: -1}}},
		{Vendors: map[string]Limit{"m": {Burst: -2}}},
		{Flows: map[string]Limit{"m/a": {Concurrency: -1}}},
		{Flows: map[string]Limit{"m/a": {Burst: -1}}},
	} {
		if _, err := NewRunner(ctx, st, flows, opt); err == nil || !strings.Contains(err.Error(), "must not be negative") {
			t.Errorf("NewRunner(%+v) = %v, want a refusal", opt, err)
		}
	}
	r, err := NewRunner(ctx, st, flows, Options{Shared: true, Vendors: map[string]Limit{"m": {Concurrency: 5, Rate: Rate{N: 2, Per: time.Second}}}})
	if err != nil {
		t.Fatal(err)
	}
	enqueueWork(t, st, "m/a", 3)
	if got, err := r.claim(ctx, "m"); err != nil || len(got) != 2 {
		t.Fatalf("claim: %d jobs, %v; want the bucket's 2", len(got), err)
	}
	want := `
# HELP fhirbridge_delivery_in_flight Delivery jobs in flight with a live lease, by vendor, across every replica sharing the store.
# TYPE fhirbridge_delivery_in_flight gauge
fhirbridge_delivery_in_flight{vendor="m"} 2
# HELP fhirbridge_delivery_limit Configured delivery limits by vendor: concurrency (jobs in flight, all replicas), rate_per_second and burst (0: no rate limit).
# TYPE fhirbridge_delivery_limit gauge
fhirbridge_delivery_limit{limit="burst",vendor="m"} 2
fhirbridge_delivery_limit{limit="concurrency",vendor="m"} 5
fhirbridge_delivery_limit{limit="rate_per_second",vendor="m"} 2
# HELP fhirbridge_delivery_throttled_total Claims that left due delivery jobs unclaimed because of a limit, by vendor and reason (concurrency, flow_concurrency, rate, flow_rate).
# TYPE fhirbridge_delivery_throttled_total counter
fhirbridge_delivery_throttled_total{reason="rate",vendor="m"} 1
`
	if err := testutil.CollectAndCompare(r.Metrics(), strings.NewReader(want),
		"fhirbridge_delivery_in_flight", "fhirbridge_delivery_limit", "fhirbridge_delivery_throttled_total"); err != nil {
		t.Error(err)
	}
}

// TestFlowLimits: one claim takes of each flow what its own limits leave
// within its vendor's (the vendor's bucket debited by every job, a
// flow's by its own); a flow named like its vendor has a bucket of its
// own; an empty flow bucket refills with time; the flows' limits and the
// throttled claims show in the runner's metrics.
func TestFlowLimits(t *testing.T) {
	url := storeURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &fakeClock{t: time.Now().Add(time.Second)} // the jobs are due
	ok := func(context.Context, Work) error { return nil }
	flows := map[string]Flow{"m": {Vendor: "m", Work: ok}, "m/b": {Vendor: "m", Work: ok}, "m/c": {Vendor: "m", Work: ok}}
	r, err := NewRunner(ctx, st, flows, Options{Shared: true, Clock: clk.Now,
		Vendors: map[string]Limit{"m": {Concurrency: 5, Rate: Rate{N: 100, Per: time.Second}, Burst: 10}},
		Flows: map[string]Limit{
			"m":   {Rate: Rate{N: 1, Per: time.Second}, Burst: 1}, // named like its vendor
			"m/b": {Concurrency: 2},
		}})
	if err != nil {
		t.Fatal(err)
	}
	enqueueWork(t, st, "m", 3)
	enqueueWork(t, st, "m/b", 3)
	enqueueWork(t, st, "m/c", 1)
	claimed := func(want map[string]int) {
		t.Helper()
		got, err := r.claim(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]int{}
		for _, c := range got {
			by[c.Flow]++
		}
		if len(by) != len(want) {
			t.Fatalf("claimed %v, want %v", by, want)
		}
		for f, n := range want {
			if by[f] != n {
				t.Fatalf("claimed %v, want %v", by, want)
			}
		}
	}
	tokens := func(table, key, name string) float64 {
		t.Helper()
		var v float64
		if err := st.DB().QueryRowContext(ctx, st.Rebind(`SELECT tokens FROM `+table+` WHERE `+key+` = ?`), name).Scan(&v); err != nil {
			t.Fatalf("%s %s: %v", table, name, err)
		}
		return v
	}
	// m's bucket holds 1, m/b has room for 2, m/c only the vendor's limits
	claimed(map[string]int{"m": 1, "m/b": 2, "m/c": 1})
	if v, f := tokens("delivery_rate", "vendor", "m"), tokens("delivery_flow_rate", "flow", "m"); v != 6 || f != 0 {
		t.Errorf("after the first claim: vendor m's bucket %v, flow m's %v; want 6 (10 less the 4 claimed) and 0", v, f)
	}
	// the same instant: flow m's bucket is empty, m/b is at its concurrency
	claimed(map[string]int{})
	clk.Add(time.Second) // one token for flow m: one of its two jobs left
	claimed(map[string]int{"m": 1})
	// throttled: by m/b's concurrency in each of the three claims, by
	// m's rate in each too
	want := `
# HELP fhirbridge_delivery_flow_limit Configured delivery limits by flow, within its vendor's: concurrency (jobs in flight, all replicas; 0: none of its own), rate_per_second and burst (0: no rate limit of its own).
# TYPE fhirbridge_delivery_flow_limit gauge
fhirbridge_delivery_flow_limit{flow="m",limit="burst"} 1
fhirbridge_delivery_flow_limit{flow="m",limit="concurrency"} 0
fhirbridge_delivery_flow_limit{flow="m",limit="rate_per_second"} 1
fhirbridge_delivery_flow_limit{flow="m/b",limit="burst"} 0
fhirbridge_delivery_flow_limit{flow="m/b",limit="concurrency"} 2
fhirbridge_delivery_flow_limit{flow="m/b",limit="rate_per_second"} 0
fhirbridge_delivery_flow_limit{flow="m/c",limit="burst"} 0
fhirbridge_delivery_flow_limit{flow="m/c",limit="concurrency"} 0
fhirbridge_delivery_flow_limit{flow="m/c",limit="rate_per_second"} 0
# HELP fhirbridge_delivery_throttled_total Claims that left due delivery jobs unclaimed because of a limit, by vendor and reason (concurrency, flow_concurrency, rate, flow_rate).
# TYPE fhirbridge_delivery_throttled_total counter
fhirbridge_delivery_throttled_total{reason="flow_concurrency",vendor="m"} 3
fhirbridge_delivery_throttled_total{reason="flow_rate",vendor="m"} 3
`
	if err := testutil.CollectAndCompare(r.Metrics(), strings.NewReader(want),
		"fhirbridge_delivery_flow_limit", "fhirbridge_delivery_throttled_total"); err != nil {
		t.Error(err)
	}
}
