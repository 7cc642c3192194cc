package inbound

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts inbound files and rows for Prometheus:
// fhirbridge_inbound_files_total{job,outcome} and
// fhirbridge_inbound_rows_total{job,outcome} (outcome ok or failed); the
// EHR write-backs are delivery attempts of the flow "ehr"
// (fhirbridge_delivery_attempts_total).
// Labels carry job names and outcome codes only, never patient data. A nil
// *Metrics counts nothing. Register it once; share it between Pollers.
type Metrics struct {
	files, rows, rejected *prometheus.CounterVec
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics returns unregistered Metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_inbound_files_total",
			Help: "Inbound files processed, by job and ledger outcome (ok, partial, failed, duplicate).",
		}, []string{"job", "outcome"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_inbound_rows_total",
			Help: "Rows of inbound files, by job and outcome (ok, failed).",
		}, []string{"job", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_inbound_rejected_names_total",
			Help: "Inbound files moved to the error folder for their name alone, by job and reason (name_too_long, control_character).",
		}, []string{"job", "reason"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.files.Describe(ch)
	m.rows.Describe(ch)
	m.rejected.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.files.Collect(ch)
	m.rows.Collect(ch)
	m.rejected.Collect(ch)
}

// file counts one processed file and its rows.
func (m *Metrics) file(job, outcome string, ok, failed int) {
	if m == nil {
		return
	}
	m.files.WithLabelValues(job, outcome).Inc()
	m.rows.WithLabelValues(job, "ok").Add(float64(ok))
	m.rows.WithLabelValues(job, "failed").Add(float64(failed))
}

// rejectName counts one file refused for its name.
func (m *Metrics) rejectName(job, reason string) {
	if m == nil {
		return
	}
	m.rejected.WithLabelValues(job, reason).Inc()
}
