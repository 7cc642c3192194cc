package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Throughput controls and replicas.
//
// Every runner on a store (one per serve replica) claims a vendor's jobs
// under that vendor's lock: pg_advisory_xact_lock on PostgreSQL, the one
// writer on SQLite. Under it the claim counts the vendor's jobs in flight
// with a live lease, whoever holds them, and the tokens of the vendor's
// bucket (table delivery_rate), and claims at most what both leave. A
// flow's own limits are counted under the same lock (a flow has one
// vendor): its jobs in flight and its bucket (table delivery_flow_rate)
// bound what the claim takes of that flow, within what the vendor's
// leave. So a vendor's and a flow's concurrency and rate hold for all
// replicas together, not per process.
//
// A held job names its owner (the cluster node's id): every later change
// of the job is guarded by owner, and Reap hands the jobs of dead owners
// back at once.

// Reasons a claim was throttled, the reason label of
// fhirbridge_delivery_throttled_total.
const (
	throttledConcurrency     = "concurrency"      // the vendor's jobs in flight reached its limit
	throttledFlowConcurrency = "flow_concurrency" // a flow's jobs in flight reached its limit
	throttledRate            = "rate"             // the vendor's token bucket was empty
	throttledFlowRate        = "flow_rate"        // a flow's token bucket was empty
)

// errLost is wrapped when a held job's state change finds the job no
// longer held by this runner: its owner was counted dead and another
// runner took it (or an operator changed it).
var errLost = errors.New("the job is no longer held by this runner (handed to another after its owner was counted dead)")

// checkLimits refuses negative or unknown limits.
func (r *Runner) checkLimits() error {
	var errs []error
	for _, v := range sortedKeys(r.opt.Vendors) {
		l := r.opt.Vendors[v]
		if l.Concurrency < 0 || l.Burst < 0 || l.Rate.N < 0 {
			errs = append(errs, fmt.Errorf("configuring delivery: vendor %s: limits must not be negative", v))
		}
	}
	for _, f := range sortedKeys(r.opt.Flows) {
		l := r.opt.Flows[f]
		if l.Concurrency < 0 || l.Burst < 0 || l.Rate.N < 0 {
			errs = append(errs, fmt.Errorf("configuring delivery: flow %s: limits must not be negative", f))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// limit returns vendor's limits with the defaults filled.
func (r *Runner) limit(vendor string) Limit {
	l := r.opt.Vendors[vendor]
	if l.Concurrency <= 0 {
		l.Concurrency = r.opt.Concurrency
	}
	return l
}

// lockVendor serialises the claims of vendor across runners until tx
// ends. SQLite's single writer serialises them already.
func lockVendor(ctx context.Context, tx *store.Tx, vendor string) error {
	if !isPostgres(tx) {
		return nil
	}
	if _, err := tx.SQL().ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "fhirbridge.delivery:"+vendor); err != nil {
		return store.Classify("locking the vendor's delivery claims", err)
	}
	return nil
}

// isPostgres reports whether tx runs on PostgreSQL (the only dialect
// whose claims lock rows, see store.Tx.SkipLocked).
func isPostgres(tx *store.Tx) bool { return tx.SkipLocked() != "" }

// held counts flows' jobs in flight with a live lease at now, by flow,
// whichever runner holds them.
func held(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, rebind func(string) string, flows []string, now int64) (map[string]int, error) {
	args := make([]any, 0, len(flows)+2)
	args = append(args, StateInFlight, now)
	for _, f := range flows {
		args = append(args, f)
	}
	rows, err := q.QueryContext(ctx, rebind(`SELECT flow, count(*) FROM delivery_jobs
		WHERE state = ? AND lease_until > ? AND flow IN (`+placeholders(len(flows))+`) GROUP BY flow`), args...)
	if err != nil {
		return nil, store.Classify("counting delivery jobs in flight", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var f string
		var n int
		if err := rows.Scan(&f, &n); err != nil {
			return nil, store.Classify("counting delivery jobs in flight", err)
		}
		out[f] = n
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify("counting delivery jobs in flight", err)
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// buckets names where one kind of token bucket is kept: the vendors'
// in delivery_rate, the flows' in delivery_flow_rate (tables apart, so
// that a flow named like a vendor never shares its bucket). Both are
// counted under the vendor's lock (a flow has one vendor).
type buckets struct {
	table, key string // the table and its key column
	what       string // "vendor" or "flow", for errors
}

var (
	vendorBuckets = buckets{table: "delivery_rate", key: "vendor", what: "vendor"}
	flowBuckets   = buckets{table: "delivery_flow_rate", key: "flow", what: "flow"}
)

// bucket is a vendor's or a flow's token bucket as read under the
// vendor's lock.
type bucket struct {
	in     buckets
	name   string  // the vendor or flow
	tokens float64 // refilled to now
	rate   float64 // tokens per second
	at     int64   // the instant tokens counts to (Unix µs)
}

// readBucket refills the bucket of name (a vendor or a flow, as in says)
// to now (a new bucket starts full).
func readBucket(ctx context.Context, tx *store.Tx, in buckets, name string, l Limit, now time.Time) (bucket, error) {
	b := bucket{in: in, name: name, rate: l.Rate.PerSecond(), at: micros(now)}
	var tokens float64
	var at int64
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT tokens, refilled_at FROM `+in.table+` WHERE `+in.key+` = ?`), name).Scan(&tokens, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		b.tokens = l.burst()
	case err != nil:
		return b, store.Classify("reading the "+in.what+"'s rate bucket", err)
	default:
		elapsed := max(now.Sub(time.UnixMicro(at)).Seconds(), 0)
		b.tokens = min(l.burst(), tokens+elapsed*b.rate)
		b.at = max(at, micros(now)) // never back: replicas' clocks differ a little
	}
	return b, nil
}

// whole is how many whole tokens the bucket holds.
func (b bucket) whole() int { return int(math.Floor(b.tokens + 1e-9)) }

// untilNext is how long until the bucket holds a whole token after
// taking n.
func (b bucket) untilNext(n int) time.Duration {
	left := b.tokens - float64(n)
	need := 1 - (left - math.Floor(left+1e-9))
	return time.Duration(need / b.rate * float64(time.Second))
}

// take debits n tokens and stores the bucket.
func (b bucket) take(ctx context.Context, tx *store.Tx, n int) error {
	_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO `+b.in.table+` (`+b.in.key+`, tokens, refilled_at) VALUES (?, ?, ?)
		ON CONFLICT (`+b.in.key+`) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at`),
		b.name, b.tokens-float64(n), b.at)
	if err != nil {
		return store.Classify("updating the "+b.in.what+"'s rate bucket", err)
	}
	return nil
}

// Reap hands back the jobs held by the cluster nodes ids: their lease
// ends and their owner is cleared, so any runner claims them at once (as
// re-claims: not Fresh, so the connector looks up before creating). It is
// the "delivery" hook of cluster.Node.OnReap, which NewRunner registers
// when Options.Node is set; it is idempotent.
func Reap(ctx context.Context, tx *store.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{StateInFlight}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE delivery_jobs SET lease_until = 0, owner = ''
		WHERE state = ? AND owner IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return store.Classify("handing back the delivery jobs of dead nodes", err)
	}
	return nil
}

// limitCollector exports the configured limits (the vendors' and the
// flows') and, read from the store at scrape time, the jobs in flight per
// vendor across every runner.
type limitCollector struct {
	r                          *Runner
	limit, flowLimit, inFlight *prometheus.Desc
	throttled                  *prometheus.CounterVec
	wakeups                    *prometheus.CounterVec
	listenerFailures           prometheus.Counter
}

func newLimitCollector(r *Runner) *limitCollector {
	return &limitCollector{r: r,
		limit: prometheus.NewDesc("fhirbridge_delivery_limit",
			"Configured delivery limits by vendor: concurrency (jobs in flight, all replicas), rate_per_second and burst (0: no rate limit).",
			[]string{"vendor", "limit"}, nil),
		flowLimit: prometheus.NewDesc("fhirbridge_delivery_flow_limit",
			"Configured delivery limits by flow, within its vendor's: concurrency (jobs in flight, all replicas; 0: none of its own), rate_per_second and burst (0: no rate limit of its own).",
			[]string{"flow", "limit"}, nil),
		inFlight: prometheus.NewDesc("fhirbridge_delivery_in_flight",
			"Delivery jobs in flight with a live lease, by vendor, across every replica sharing the store.",
			[]string{"vendor"}, nil),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_delivery_throttled_total",
			Help: "Claims that left due delivery jobs unclaimed because of a limit, by vendor and reason (concurrency, flow_concurrency, rate, flow_rate).",
		}, []string{"vendor", "reason"}),
		wakeups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_delivery_wakeups_total",
			Help: "Times the delivery runner was woken before its poll, by source (notify: PostgreSQL NOTIFY, local: an enqueue in this process, rate: a token refill).",
		}, []string{"source"}),
		listenerFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbridge_delivery_listener_failures_total",
			Help: "Failures of the PostgreSQL LISTEN connection that wakes the delivery runner (it reconnects; polling goes on meanwhile).",
		}),
	}
}

// Describe implements prometheus.Collector.
func (c *limitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.limit
	ch <- c.flowLimit
	ch <- c.inFlight
	c.throttled.Describe(ch)
	c.wakeups.Describe(ch)
	c.listenerFailures.Describe(ch)
}

// Collect implements prometheus.Collector; a store error leaves out the
// in-flight counts.
func (c *limitCollector) Collect(ch chan<- prometheus.Metric) {
	vendors := sortedKeys(c.r.dests)
	for _, v := range vendors {
		l := c.r.limit(v)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(l.Concurrency), v, "concurrency")
		burst := 0.0
		if l.Rate.N > 0 {
			burst = l.burst()
		}
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, l.Rate.PerSecond(), v, "rate_per_second")
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, burst, v, "burst")
	}
	for _, f := range sortedKeys(c.r.flows) {
		l := c.r.opt.Flows[f]
		burst := 0.0
		if l.Rate.N > 0 {
			burst = l.burst()
		}
		ch <- prometheus.MustNewConstMetric(c.flowLimit, prometheus.GaugeValue, float64(l.Concurrency), f, "concurrency")
		ch <- prometheus.MustNewConstMetric(c.flowLimit, prometheus.GaugeValue, l.Rate.PerSecond(), f, "rate_per_second")
		ch <- prometheus.MustNewConstMetric(c.flowLimit, prometheus.GaugeValue, burst, f, "burst")
	}
	c.throttled.Collect(ch)
	c.wakeups.Collect(ch)
	c.listenerFailures.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := micros(c.r.opt.Clock())
	for _, v := range vendors {
		n, err := held(ctx, c.r.st.DB(), c.r.st.Rebind, c.r.dests[v], now)
		if err != nil {
			return
		}
		total := 0
		for _, k := range n {
			total += k
		}
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(total), v)
	}
}
