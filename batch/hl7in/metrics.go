package hl7in

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/fhir/promreg"
)

// KnownEvents are the trigger events a type label names; others of a
// configured message type are labelled "<type>^other", messages of an
// unconfigured type "other", so the label set stays small whatever
// senders put in MSH-9.
var KnownEvents = map[string]bool{
	"A01": true, "A02": true, "A03": true, "A04": true, "A05": true, "A08": true, "A11": true,
	"A13": true, "A28": true, "A31": true, "A40": true,
	"S12": true, "S13": true, "S14": true, "S15": true, "S17": true, "S26": true,
}

// typeLabel is the metric and log label of a message type.
func typeLabel[T any](configured map[string]T, code, event string) string {
	if _, ok := configured[code]; !ok || code == "" {
		return "other"
	}
	if !KnownEvents[event] {
		return code + "^other"
	}
	return code + "^" + event
}

type metrics struct {
	messages *prometheus.CounterVec
	replays  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_hl7v2_messages_total",
			Help: "HL7 v2 messages by type (MSH-9.1^MSH-9.2 of known events), ACK code (AA, AE, AR, none) and transport (mllp, http).",
		}, []string{"type", "ack", "transport"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_hl7v2_replays_total",
			Help: "HL7 v2 messages whose MSH-3|MSH-4|MSH-10 was already committed, answered AA with nothing changed: result same (a retry) or conflict (the control id reused with another content).",
		}, []string{"result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fhirbridge_hl7v2_message_duration_seconds",
			Help:    "Time from a received HL7 v2 message to its ACK built (parse, map, commit).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"transport"}),
	}
	m.messages = promreg.Register(reg, m.messages)
	m.replays = promreg.Register(reg, m.replays)
	m.duration = promreg.Register(reg, m.duration)
	return m
}

func (m *metrics) observe(o Outcome, transport string, d time.Duration) {
	m.messages.WithLabelValues(o.Type, ackLabel(o.Code), transport).Inc()
	switch {
	case o.Conflict:
		m.replays.WithLabelValues("conflict").Inc()
	case o.Replay:
		m.replays.WithLabelValues("same").Inc()
	}
	m.duration.WithLabelValues(transport).Observe(d.Seconds())
}
