package delivery

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// A destination is stalled when it has due jobs but no claim of its jobs
// has succeeded for Options.StallAfter: its workers are not taking work
// (claims failing on a broken database, or worker slots lost). A claim
// that finds nothing due counts as success, so an idle queue never stalls.

// progressed records a successful claim of vendor's jobs.
func (r *Runner) progressed(vendor string) {
	now := r.opt.Clock()
	r.mu.Lock()
	r.progress[vendor] = now
	r.mu.Unlock()
}

// restartProgress counts the start of Run as progress, so that a runner
// built long before it runs is not reported stalled at once.
func (r *Runner) restartProgress() {
	for vendor := range r.dests {
		r.progressed(vendor)
	}
}

// Stalled returns the destinations (vendor names, sorted) that have due
// jobs and no successful claim for longer than Options.StallAfter.
func (r *Runner) Stalled(ctx context.Context) ([]string, error) {
	now := r.opt.Clock()
	var quiet []string
	r.mu.Lock()
	for vendor := range r.dests {
		if now.Sub(r.progress[vendor]) > r.opt.StallAfter {
			quiet = append(quiet, vendor)
		}
	}
	r.mu.Unlock()
	sort.Strings(quiet)
	var out []string
	for _, vendor := range quiet {
		due, err := r.hasDue(ctx, vendor, now)
		if err != nil {
			return nil, err
		}
		if due {
			out = append(out, vendor)
		}
	}
	return out, nil
}

// hasDue reports whether vendor has a job a healthy worker would claim
// now: pending and due, or in flight with an expired lease.
func (r *Runner) hasDue(ctx context.Context, vendor string, now time.Time) (bool, error) {
	flows := r.dests[vendor]
	args := make([]any, 0, len(flows)+4)
	for _, f := range flows {
		args = append(args, f)
	}
	at := micros(now)
	args = append(args, StatePending, at, StateInFlight, at)
	q := `SELECT count(*) FROM (SELECT 1 FROM delivery_jobs
		WHERE flow IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(flows)), ", ") + `)
		  AND ((state = ? AND run_at <= ?) OR (state = ? AND lease_until <= ?)) LIMIT 1) due`
	var n int
	if err := r.st.DB().QueryRowContext(ctx, r.st.Rebind(q), args...).Scan(&n); err != nil {
		return false, store.Classify("looking for due "+vendor+" delivery jobs", err)
	}
	return n > 0, nil
}

// ErrStalled is wrapped by Ready when a destination is stalled.
var ErrStalled = errors.New("delivery stalled")

// Ready returns nil while no destination is stalled, else an error
// wrapping ErrStalled and server.ErrUnavailable that names the stalled
// vendors (or the store's error when the queue cannot be read). It suits
// a readiness probe: a stalled bridge still accepts resources but does
// not deliver them.
func (r *Runner) Ready(ctx context.Context) error {
	stalled, err := r.Stalled(ctx)
	if err != nil {
		return fmt.Errorf("%w: checking delivery: %w", server.ErrUnavailable, err)
	}
	if len(stalled) > 0 {
		return fmt.Errorf("%w: %w: %s: due jobs unclaimed for over %s", server.ErrUnavailable, ErrStalled,
			strings.Join(stalled, ", "), r.opt.StallAfter)
	}
	return nil
}

// stallCollector exports fhirbridge_delivery_stalled{vendor}, read at
// scrape time: 1 while the destination is stalled, else 0.
type stallCollector struct {
	r    *Runner
	desc *prometheus.Desc
}

func newStallCollector(r *Runner) *stallCollector {
	return &stallCollector{r: r, desc: prometheus.NewDesc("fhirbridge_delivery_stalled",
		"1 while a destination has due delivery jobs and no successful claim for longer than the stall threshold.",
		[]string{"vendor"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *stallCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector; a store error yields no samples.
func (c *stallCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stalled, err := c.r.Stalled(ctx)
	if err != nil {
		return
	}
	vendors := make([]string, 0, len(c.r.dests))
	for vendor := range c.r.dests {
		vendors = append(vendors, vendor)
	}
	sort.Strings(vendors)
	for _, vendor := range vendors {
		v := 0.0
		for _, s := range stalled {
			if s == vendor {
				v = 1
			}
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, vendor)
	}
}
