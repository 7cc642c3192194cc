package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/cluster"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// Flow is one route to a vendor: the mapping that builds the vendor record
// and the connector that sends it; or, for a worker flow, the function
// that works its jobs (Work, see EnqueueWork).
type Flow struct {
	// Mapping maps the stored FHIR resource to the vendor record. Nil
	// hands the connector the stored version itself, as an Update with no
	// crosswalk (the EHR write-back, flow [EHRFlow]).
	Mapping *mapping.Mapping
	// Connector delivers the record.
	Connector connectors.Connector
	// Work, when set instead of Mapping and Connector, makes this a
	// worker flow: its jobs carry their own data (EnqueueWork) and Work
	// does them, with the queue's retries, circuit and dead letters.
	Work WorkFunc
	// MaxAttempts, when > 0, replaces Options.MaxAttempts for this flow's
	// jobs.
	MaxAttempts int
	// Vendor names the destination: the crosswalk's vendor, and the unit
	// of concurrency limits and of the circuit breaker.
	Vendor string
	// Parent is the resource type that must be delivered to Vendor before
	// this flow's resources (e.g. "Patient" for appointments): its vendor
	// id becomes Delivery.Parent, and until the crosswalk has it the job
	// waits without spending attempts. "" when none.
	Parent string
	// Parents are further types delivered to Vendor before this flow's
	// resources, for a record that depends on several (a Tyto visit needs
	// its Practitioner and its Location). Each is waited for like Parent,
	// and the vendor ids of Parent and of every Parents type are handed to
	// the connector in Delivery.Parents, keyed by type.
	Parents []string
	// ParentWait bounds how long a job waits for a parent resource that
	// is not stored at all (not merely undelivered): after ParentWait
	// from its enqueueing it is dead-lettered with a reason naming the
	// reference that never arrived. 0 waits without bound (the intake
	// then refuses a resource whose parents are not stored, see
	// Route.AwaitParents).
	ParentWait time.Duration
}

// CallLogger is an optional ability of a flow's Connector: NewRunner hands
// it the runner's logger, so that the connector can log each vendor call
// it makes (flow, our id, method, path template, status — never a value)
// beside the runner's own lines. It is called before Run, once per flow.
type CallLogger interface {
	SetCallLogger(*slog.Logger)
}

// Options tune a Runner; zero fields take the defaults named.
type Options struct {
	// Concurrency is the most jobs of one vendor in flight at once,
	// across every runner sharing the store (4), unless Vendors sets
	// another.
	Concurrency int
	// Vendors sets limits per vendor (concurrency, rate), respected by
	// all runners on the store together; Flows sets limits per flow, also
	// for all runners together: a job is claimed only when both its
	// vendor's and its flow's limits leave room. A flow's Concurrency 0
	// and zero Rate set no bound of the flow's own (only the vendor's
	// apply).
	Vendors map[string]Limit
	Flows   map[string]Limit
	// Owner names this runner in the jobs it holds (delivery_jobs.owner):
	// only the owner may record a held job's outcome. "" takes Node's id,
	// or a random name without a Node.
	Owner string
	// Node, when set, is this process's cluster membership: the runner
	// owns its jobs under the node's id and registers the reap hook
	// "delivery", which hands the in-flight jobs of dead nodes (and of
	// this one when it leaves) back at once instead of after Lease.
	Node *cluster.Node
	// MaxAttempts is how many transient failures a job may have in a
	// round before it is dead-lettered (10). Reconnect failures never
	// dead-letter.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the exponential backoff (1s, 10m):
	// retry n waits a uniformly random time in [0, min(BackoffMax,
	// BackoffBase·2^(n-1))] (full jitter), and never less than the
	// vendor's Retry-After.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter caps a vendor's Retry-After (1h).
	MaxRetryAfter time.Duration
	// WaitDelay is how long a job waiting for its parent sleeps (BackoffBase).
	WaitDelay time.Duration
	// BreakerThreshold consecutive transient or reconnect failures open a
	// destination's circuit (5) for BreakerCooldown (30s); then one probe
	// job at a time is let through until one succeeds.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// PollInterval is how often the queue is checked for due jobs (1s).
	PollInterval time.Duration
	// Lease is how long a claimed job is held before another worker may
	// claim it again (5m): the last-resort bound when no cluster node
	// hands a dead holder's jobs back sooner; AttemptTimeout bounds one Deliver call (2m) and
	// must be shorter.
	Lease, AttemptTimeout time.Duration
	// StallAfter is how long a destination may go without a successful
	// claim while it has due jobs before it counts as stalled (5m; see
	// Runner.Ready). It must be longer than AttemptTimeout, since workers
	// all busy with slow calls claim nothing meanwhile.
	StallAfter time.Duration
	// Clock returns the current time (time.Now).
	Clock func() time.Time
	// Jitter returns a uniformly random duration in [0, max] (math/rand).
	Jitter func(max time.Duration) time.Duration
	// OnRetry, when set, is called with every retry scheduled (for
	// metrics and tests). It must not block.
	OnRetry func(RetryEvent)
	// Logger receives PHI-free operational messages (discarded when nil).
	Logger *slog.Logger
	// Shared says another process may be running this queue (a command
	// working a flow beside serve): NewRunner then leaves the leases of
	// jobs in flight as they are, even on SQLite.
	Shared bool
	// Router, when set, routes the resources a delivery's answer stores
	// (connectors.Result.Related), as the endpoint routes ingested ones.
	Router *Router
	// Grace is how long the attempts in flight when Run's ctx ends may
	// go on (0: none, they are interrupted at once). Run claims nothing
	// after its ctx ends; an attempt that finishes within Grace records
	// its outcome as usual, and those still running when Grace is up are
	// interrupted and their jobs handed back, due now.
	Grace time.Duration
}

// RetryEvent describes one retry the Runner scheduled.
type RetryEvent struct {
	JobID   int64
	Flow    string
	Attempt int              // the failed attempt, 1-based within the round
	Class   connectors.Class // Transient or Reconnect
	// Cap is the backoff bound of this attempt, Delay the wait chosen and
	// RetryAfter what the vendor asked for (0 if nothing).
	Cap, Delay, RetryAfter time.Duration
}

// Runner runs the delivery workers of a store. Build it with NewRunner and
// call Run.
type Runner struct {
	st    *store.Store
	q     *Queue
	flows map[string]Flow
	dests map[string][]string // vendor → flow names, sorted
	opt   Options
	cb    *breaker
	log   *slog.Logger
	// metrics counts attempts as they end (see Metrics).
	metrics *attemptMetrics

	// inTx runs the claim transaction: st.InTx, replaced by tests to
	// inject a failed commit.
	inTx func(ctx context.Context, fn func(tx *store.Tx) error) error

	// wake is poked when jobs may be due (a notification, a local
	// enqueue, a rate-limit refill) so Run claims before its next poll.
	wake chan struct{}

	mu       sync.Mutex
	inflight map[string]int       // vendor → jobs held
	progress map[string]time.Time // vendor → last successful claim (see stall.go)
}

// NewRunner checks flows and returns a runner; on a single-process store
// it ends the leases of jobs a previous run left in flight. Every flow needs a Connector and a
// Vendor (a Mapping unless it sends resources as stored).
func NewRunner(ctx context.Context, st *store.Store, flows map[string]Flow, opt Options) (*Runner, error) {
	r := &Runner{st: st, q: NewQueue(st), flows: flows, dests: map[string][]string{}, inflight: map[string]int{},
		progress: map[string]time.Time{}, metrics: newAttemptMetrics(), wake: make(chan struct{}, 1)}
	r.inTx = st.InTx
	r.metrics.stall = newStallCollector(r)
	for name, f := range flows {
		if (f.Connector == nil) == (f.Work == nil) || f.Vendor == "" {
			return nil, fmt.Errorf("configuring delivery flow %q: a vendor and either a connector or a work function are required", name)
		}
		r.dests[f.Vendor] = append(r.dests[f.Vendor], name)
	}
	r.opt = withDefaults(opt)
	if err := r.checkLimits(); err != nil {
		return nil, err
	}
	r.metrics.limits = newLimitCollector(r)
	r.log = r.opt.Logger
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	for _, v := range sortedKeys(r.opt.Vendors) {
		if r.dests[v] == nil {
			r.log.Warn("delivery limits set for a vendor no flow delivers to", "vendor", v)
		}
	}
	for _, f := range sortedKeys(r.opt.Flows) {
		if _, ok := flows[f]; !ok {
			r.log.Warn("delivery limit set for an unknown flow", "flow", f)
		}
	}
	for _, f := range flows {
		if cl, ok := f.Connector.(CallLogger); ok {
			cl.SetCallLogger(r.log)
		}
	}
	for _, names := range r.dests {
		sort.Strings(names)
	}
	if r.opt.StallAfter <= r.opt.AttemptTimeout {
		return nil, fmt.Errorf("configuring delivery: the stall threshold (%s) must be longer than the attempt timeout (%s)", r.opt.StallAfter, r.opt.AttemptTimeout)
	}
	for vendor := range r.dests {
		r.progress[vendor] = r.opt.Clock()
	}
	r.cb = newBreaker(r.opt.BreakerThreshold, r.opt.BreakerCooldown)
	if st.SingleProcess() && !r.opt.Shared {
		// An SQLite store belongs to one process: jobs still in flight
		// were claimed by a run that died (kill -9, power loss). Their
		// lease can end now rather than after Options.Lease; the
		// connector looks up before creating, so a redelivery is safe.
		// (With PostgreSQL other instances may hold live leases.)
		res, err := st.DB().ExecContext(ctx, `UPDATE delivery_jobs SET lease_until = 0, owner = '' WHERE state = ?`, StateInFlight)
		if err != nil {
			return nil, store.Classify("recovering delivery jobs of a previous run", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			r.log.Warn("recovered delivery jobs left in flight by a previous run", "jobs", n)
		}
	}
	if r.opt.Node != nil {
		r.opt.Node.OnReap("delivery", Reap)
	}
	return r, nil
}

func withDefaults(o Options) Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.BreakerThreshold <= 0 {
		o.BreakerThreshold = 5
	}
	def(&o.BackoffBase, time.Second)
	def(&o.BackoffMax, 10*time.Minute)
	def(&o.MaxRetryAfter, time.Hour)
	def(&o.WaitDelay, o.BackoffBase)
	def(&o.BreakerCooldown, 30*time.Second)
	def(&o.PollInterval, time.Second)
	def(&o.Lease, 5*time.Minute)
	def(&o.AttemptTimeout, 2*time.Minute)
	def(&o.StallAfter, 5*time.Minute)
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Owner == "" && o.Node != nil {
		o.Owner = o.Node.ID()
	}
	if o.Owner == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		o.Owner = "runner/" + hex.EncodeToString(b[:])
	}
	if o.Jitter == nil {
		o.Jitter = uniform
	}
	return o
}

// Queue returns the operator view of the runner's queue.
func (r *Runner) Queue() *Queue { return r.q }

// Run claims and delivers due jobs until ctx is done, then claims no
// more and waits for the jobs in hand: their attempts run on a context
// of their own (with ctx's values) that ends Options.Grace after ctx, or
// at once when Grace is 0. An attempt that ends within the grace records
// its outcome; one interrupted by the grace's end returns its job to
// pending, due now. Run returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	r.restartProgress()
	stopWaking := r.startWaking(ctx)
	defer stopWaking()
	// attempts outlive ctx by the grace: see drain
	attemptCtx, interrupt := context.WithCancel(context.WithoutCancel(ctx))
	defer interrupt()
	done := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer r.drain(&wg, interrupt)
	tick := time.NewTicker(r.opt.PollInterval)
	defer tick.Stop()
	for {
		for vendor := range r.dests {
			if ctx.Err() != nil { // stopping: no new claims
				return ctx.Err()
			}
			jobs, err := r.claim(ctx, vendor)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r.log.Warn("claiming delivery jobs", "vendor", vendor, "err", err)
				continue
			}
			for _, c := range jobs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r.work(attemptCtx, c)
					r.release(vendor)
					select {
					case done <- struct{}{}:
					default:
					}
				}()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-done:
		case <-r.wake:
		}
	}
}

// drain waits for the attempts of wg once Run's ctx has ended: up to
// Options.Grace, then it interrupts the rest (their jobs are handed back)
// and waits for them to record that.
func (r *Runner) drain(wg *sync.WaitGroup, interrupt context.CancelFunc) {
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	if r.opt.Grace > 0 {
		grace := time.NewTimer(r.opt.Grace)
		defer grace.Stop()
		select {
		case <-finished:
			return
		case <-grace.C:
			r.log.Warn("delivery attempts still running at the end of the drain time: interrupting them, their jobs are handed back")
		}
	}
	interrupt()
	<-finished
}

// slots reserves up to the free worker slots of vendor, respecting its
// circuit, and returns how many were reserved. A runner never holds more
// than the vendor's concurrency limit; claim then checks what the other
// runners hold.
func (r *Runner) slots(vendor string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	free := r.limit(vendor).Concurrency - r.inflight[vendor]
	switch r.cb.state(vendor, r.opt.Clock()) {
	case circuitOpen:
		free = 0
	case circuitProbe:
		free = min(free, 1-r.inflight[vendor])
	}
	free = max(free, 0)
	r.inflight[vendor] += free
	return free
}

// unreserve gives back n unused slots of vendor.
func (r *Runner) unreserve(vendor string, n int) {
	r.mu.Lock()
	r.inflight[vendor] -= n
	r.mu.Unlock()
}

// release frees the slot of a finished job.
func (r *Runner) release(vendor string) { r.unreserve(vendor, 1) }

// sanitise shortens a classified reason for the job row and the message
// log; connectors, mappings and the store already keep values out of it.
func sanitise(err error) string {
	s := strings.ToValidUTF8(err.Error(), "?")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
