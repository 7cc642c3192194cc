package server

import (
	"github.com/fhirbridge/fhirbridge/fhir/buildinfo"
	"github.com/fhirbridge/fhirbridge/fhir/promreg"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Reasons a body is rejected (label values of
// fhirbridge_http_bodies_rejected_total); a fixed set, never data.
const (
	reasonTooLarge       = "too_large"          // over BodyLimit as sent
	reasonInflated       = "inflated_too_large" // over BodyLimit after gunzip
	reasonBadGzip        = "bad_gzip"           // corrupt gzip stream
	reasonEncoding       = "unsupported_encoding"
	reasonMediaType      = "unsupported_media_type"
	reasonSyntax         = "invalid_json" // not strict JSON
	reasonInvalid        = "invalid_fhir" // JSON, but not valid FHIR
	reasonTooManyEntries = "too_many_entries"
	reasonTooComplex     = "too_complex"   // over MaxElements or MaxArray
	reasonBusy           = "decoders_busy" // no decoding slot within DecodeWait
	reasonReadFailed     = "read_failed"   // the client stopped sending
)

// metrics are the endpoint's Prometheus collectors. Labels are route
// names, status codes and reasons: a fixed, value-free set.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rejected *prometheus.CounterVec
	// identifierConflicts counts requests refused because their
	// idempotency key (Bundle.identifier) was reused for another body.
	identifierConflicts prometheus.Counter
	gatherer            prometheus.Gatherer
}

// newMetrics registers the collectors with reg (a private registry when
// nil), reusing collectors already registered there.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_http_requests_total",
			Help: "FHIR endpoint requests by route and HTTP status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fhirbridge_http_request_duration_seconds",
			Help:    "FHIR endpoint request duration by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_http_bodies_rejected_total",
			Help: "Request bodies rejected before reaching the backend, by reason.",
		}, []string{"reason"}),
		identifierConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbridge_ingest_identifier_conflicts_total",
			Help: "Requests refused with 409 because their Bundle.identifier was already used for a different Bundle.",
		}),
	}
	m.requests = promreg.Register(reg, m.requests)
	m.duration = promreg.Register(reg, m.duration)
	m.rejected = promreg.Register(reg, m.rejected)
	m.identifierConflicts = promreg.Register(reg, m.identifierConflicts)
	_ = buildinfo.Register(reg) // a clash only loses the gauge, never a request
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	} else {
		m.gatherer = prometheus.DefaultGatherer
	}
	return m
}

// observe records one finished request.
func (m *metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// reject counts a rejected body.
func (m *metrics) reject(reason string) {
	m.rejected.WithLabelValues(reason).Inc()
}

// handler serves the metrics in the Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}
