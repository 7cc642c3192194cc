package mllp

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/fhir/promreg"
)

// Outcomes of a message or framing attempt (label values of
// fhirbridge_mllp_messages_total); a fixed set, never data.
const (
	OutcomeAcked       = "acked"        // handled, ACK written
	OutcomeNoAck       = "no_ack"       // the handler gave no ACK; connection closed
	OutcomeWriteFailed = "write_failed" // the ACK could not be written
	OutcomeTooLarge    = "too_large"    // frame over MaxMessageBytes
	OutcomeBadFrame    = "bad_frame"    // bytes outside a frame, bad end block
	OutcomeTruncated   = "truncated"    // connection closed inside a frame
	OutcomeTimeout     = "read_timeout" // frame not complete within ReadTimeout
	OutcomeReadFailed  = "read_failed"  // other read error inside a frame
)

// metrics are the listener's Prometheus collectors.
type metrics struct {
	open     prometheus.Gauge
	conns    *prometheus.CounterVec
	messages *prometheus.CounterVec
	duration prometheus.Histogram
}

// newMetrics registers the collectors with reg (a private registry when
// nil), reusing collectors already registered there.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fhirbridge_mllp_connections_open",
			Help: "MLLP connections currently open.",
		}),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_mllp_connections_total",
			Help: "MLLP connections by result: accepted, rejected (over MaxConns), tls_failed.",
		}, []string{"result"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_mllp_messages_total",
			Help: "MLLP messages and framing failures by outcome.",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fhirbridge_mllp_message_duration_seconds",
			Help:    "Time from a complete frame to its ACK written.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
	}
	m.open = promreg.Register(reg, m.open)
	m.conns = promreg.Register(reg, m.conns)
	m.messages = promreg.Register(reg, m.messages)
	m.duration = promreg.Register(reg, m.duration)
	return m
}

func (m *metrics) message(outcome string, d time.Duration) {
	m.messages.WithLabelValues(outcome).Inc()
	if outcome == OutcomeAcked {
		m.duration.Observe(d.Seconds())
	}
}
