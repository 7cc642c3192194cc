// Package promreg registers Prometheus collectors so that a second
// registration of the same metric (a handler built twice on one registry,
// as tests and reloads do) reuses the first collector instead of failing.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg and returns it, or returns the collector
// of the same type already registered under the same description. On a
// clash with a collector of another type, c is returned unregistered: it
// keeps counting, unexported, and the caller never fails for its metrics.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
	}
	return c
}
