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
		if state == StatePending {
			age := c.now().Sub(time.UnixMicro(oldest)).Seconds()
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, max(age, 0), flow)
		}
	}
}
