package export

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetrics: runs are counted by job and outcome, rows by kind, the
// last success is the clock's time, and no label carries an id.
func TestMetrics(t *testing.T) {
	st := openStore(t)
	loadFixture(t, st)
	m := NewMetrics()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	spec := mustSpec(t, "tuotempo-export", "tuotempo/export", map[string]string{"timezone": "Europe/Madrid"})
	clock := &fakeClock{now: exportAt}
	ctx := context.Background()
	if _, err := Run(ctx, st, newFakeRemote(), spec, exportAt, RunOptions{Clock: clock, Metrics: m}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, st, nil, spec, exportAt, RunOptions{Clock: clock, Metrics: m, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	failing := newFakeRemote(errPermanentFailure())
	if _, err := Run(ctx, st, failing, spec, exportAt, RunOptions{Clock: clock, Metrics: m}); err == nil {
		t.Fatal("want an error")
	}
	cases := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"partial runs", m.runs.WithLabelValues("tuotempo-export", OutcomePartial), 1},
		{"dry runs", m.runs.WithLabelValues("tuotempo-export", OutcomeDryRun), 1},
		{"failed runs", m.runs.WithLabelValues("tuotempo-export", OutcomeFailed), 1},
		{"rows written", m.rows.WithLabelValues("tuotempo-export", "written"), 6},
		{"rows refused", m.rows.WithLabelValues("tuotempo-export", "refused"), 1},
		{"last success", m.lastSuccess.WithLabelValues("tuotempo-export"), float64(exportAt.Unix())},
	}
	for _, tc := range cases {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(m, "fhirbridge_export_duration_seconds"); n != 1 {
		t.Errorf("%d duration series, want 1", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if strings.Contains(l.GetValue(), "appt") || strings.Contains(l.GetValue(), "pat") {
					t.Errorf("%s has label %s=%q", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
}
