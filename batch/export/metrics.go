package export

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcome labels of fhirbridge_export_runs_total.
const (
	OutcomeOK      = "ok"      // uploaded, every selected resource exported
	OutcomePartial = "partial" // uploaded, some resources refused
	OutcomeFailed  = "failed"  // not uploaded
	OutcomeDryRun  = "dry_run" // built only
)

// Metrics is a prometheus.Collector for exports. Labels are job names,
// outcomes and row kinds only, never patient data. A nil *Metrics records
// nothing. Safe for concurrent use.
type Metrics struct {
	runs        *prometheus.CounterVec
	rows        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics returns the export metrics; register them once.
func NewMetrics() *Metrics {
	return &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_export_runs_total", Help: "Export runs by job and outcome (ok, partial, failed, dry_run).",
		}, []string{"job", "outcome"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_export_rows_total", Help: "Rows of uploaded exports by job and kind (written, refused).",
		}, []string{"job", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fhirbridge_export_duration_seconds", Help: "Duration of export runs (build and upload, retries included) by job.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 9), // 0.1 s … 1.8 h
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fhirbridge_export_last_success_timestamp_seconds", Help: "Unix time of the last uploaded export by job.",
		}, []string{"job"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.runs.Describe(ch)
	m.rows.Describe(ch)
	m.duration.Describe(ch)
	m.lastSuccess.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.runs.Collect(ch)
	m.rows.Collect(ch)
	m.duration.Collect(ch)
	m.lastSuccess.Collect(ch)
}

// observe records one run that ended at now.
func (m *Metrics) observe(job string, res Result, dry bool, err error, now time.Time) {
	if m == nil {
		return
	}
	outcome := OutcomeOK
	switch {
	case err != nil:
		outcome = OutcomeFailed
	case dry:
		outcome = OutcomeDryRun
	case res.RefusedCount > 0:
		outcome = OutcomePartial
	}
	m.runs.WithLabelValues(job, outcome).Inc()
	m.duration.WithLabelValues(job).Observe(res.Duration.Seconds())
	if err != nil || dry {
		return
	}
	m.rows.WithLabelValues(job, "written").Add(float64(res.Rows))
	m.rows.WithLabelValues(job, "refused").Add(float64(res.RefusedCount))
	m.lastSuccess.WithLabelValues(job).Set(float64(now.UnixMilli()) / 1000)
}
