package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegister(t *testing.T) {
	const name, help = "promreg_test_total", "A test counter."
	counter := func() *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"kind"})
	}
	for _, tc := range []struct {
		name   string
		first  prometheus.Collector // registered before, nil for none
		reused bool                 // Register returns first
	}{
		{"new", nil, false},
		{"same metric again", counter(), true},
		{"clash with another type", prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"kind"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			if tc.first != nil {
				reg.MustRegister(tc.first)
			}
			c := counter()
			got := Register(reg, c)
			if tc.reused {
				if got != tc.first {
					t.Fatalf("Register returned a new collector, want the registered one")
				}
				return
			}
			if got != c {
				t.Fatalf("Register returned another collector, want its argument")
			}
			got.WithLabelValues("a").Inc()
			if tc.first != nil {
				return // unregistered: it counts, unexported
			}
			mfs, err := reg.Gather()
			if err != nil || len(mfs) != 1 || mfs[0].GetMetric()[0].GetCounter().GetValue() != 1 {
				t.Fatalf("gathered %v, %v; want the registered counter at 1", mfs, err)
			}
		})
	}
}
