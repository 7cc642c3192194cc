package delivery

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Collector exports the queue as Prometheus metrics, read from the store
// at scrape time: fhirbridge_delivery_jobs{flow,state} (queue depth by
// state, dead letters included) and
// fhirbridge_delivery_oldest_pending_seconds{flow}. Labels carry flow names
// and states only, never patient data.
type Collector struct {
	st   *store.Store
	now  func() time.Time
	jobs *prometheus.Desc
	age  *prometheus.Desc
}

// NewCollector returns a Collector over st's queue.
func NewCollector(st *store.Store) *Collector {
	return &Collector{
		st:   st,
		now:  time.Now,
		jobs: prometheus.NewDesc("fhirbridge_delivery_jobs", "Delivery jobs by flow and state.", []string{"flow", "state"}, nil),
		age:  prometheus.NewDesc("fhirbridge_delivery_oldest_pending_seconds", "Age of the oldest pending delivery job by flow.", []string{"flow"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.age
}

// Collect implements prometheus.Collector; a store error yields no samples
// (the scrape still succeeds, /readyz reports the store).
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.st.DB().QueryContext(ctx, `SELECT flow, state, count(*), min(created_at) FROM delivery_jobs GROUP BY flow, state`)
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var flow, state string
		var n int64
		var oldest int64
		if err := rows.Scan(&flow, &state, &n, &oldest); err != nil {
			return
		}
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), flow, state)
		if State(state) == StatePending {
			age := c.now().Sub(time.UnixMicro(oldest)).Seconds()
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(age, 0), flow)
		}
	}
}

// Outcomes of one delivery attempt, the outcome label of
// fhirbridge_delivery_attempts_total.
const (
	outcomeDelivered  = "delivered"   // the vendor accepted the record
	outcomeSkipped    = "skipped"     // the mapping produced nothing to send
	outcomeRetry      = "retry"       // transient or reconnect failure, rescheduled
	outcomeDeadLetter = "dead_letter" // permanent failure, or out of attempts
	outcomeWaiting    = "waiting"     // the parent resource is not delivered yet
)

// attemptMetrics are the Runner's own metrics, counted as attempts end.
// Labels are vendor, flow and outcome names only.
type attemptMetrics struct {
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	latency  *prometheus.HistogramVec
	lost     prometheus.Counter
	stall    *stallCollector // set by NewRunner
	limits   *limitCollector // set by NewRunner
}

func newAttemptMetrics() *attemptMetrics {
	return &attemptMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_delivery_attempts_total",
			Help: "Delivery attempts by vendor, flow and outcome (delivered, skipped, retry, dead_letter, waiting).",
		}, []string{"vendor", "flow", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fhirbridge_delivery_vendor_call_seconds",
			Help:    "Duration of one call to the vendor's API, by vendor and flow.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14), // 5 ms to 41 s
		}, []string{"vendor", "flow"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fhirbridge_delivery_latency_seconds",
			Help:    "Time from a resource's acceptance (job enqueued) to its delivery, by vendor and flow.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 18), // 10 ms to 22 min
		}, []string{"vendor", "flow"}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbridge_delivery_lost_total",
			Help: "Outcomes this replica could not record because the job had been handed to another (its node was counted dead meanwhile).",
		}),
	}
}

// Describe implements prometheus.Collector.
func (m *attemptMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.attempts.Describe(ch)
	m.duration.Describe(ch)
	m.latency.Describe(ch)
	m.lost.Describe(ch)
	if m.stall != nil {
		m.stall.Describe(ch)
	}
	if m.limits != nil {
		m.limits.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *attemptMetrics) Collect(ch chan<- prometheus.Metric) {
	m.attempts.Collect(ch)
	m.duration.Collect(ch)
	m.latency.Collect(ch)
	m.lost.Collect(ch)
	if m.stall != nil {
		m.stall.Collect(ch)
	}
	if m.limits != nil {
		m.limits.Collect(ch)
	}
}

// Metrics returns the runner's attempt metrics for a Prometheus registry:
// fhirbridge_delivery_attempts_total{vendor,flow,outcome},
// fhirbridge_delivery_vendor_call_seconds{vendor,flow},
// fhirbridge_delivery_latency_seconds{vendor,flow},
// fhirbridge_delivery_stalled{vendor} (see Runner.Ready),
// fhirbridge_delivery_lost_total, fhirbridge_delivery_limit{vendor,limit},
// fhirbridge_delivery_in_flight{vendor} (all replicas),
// fhirbridge_delivery_throttled_total{vendor,reason},
// fhirbridge_delivery_wakeups_total{source} and
// fhirbridge_delivery_listener_failures_total. Register it next to a
// [Collector], which reports the queue itself.
func (r *Runner) Metrics() prometheus.Collector { return r.metrics }
