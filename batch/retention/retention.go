// Package retention bounds the store's growth: it deletes, in small
// batches, the history nobody needs any more — delivered jobs, resource
// versions beyond the last N of each resource, stored idempotency
// responses, terminal messages, file-ledger entries and export slots
// older than their retention.
//
// A pass runs each table's deletes in transactions of at most BatchSize
// rows, so the SQLite writer is never held long, and stops at PassBudget
// (the next pass goes on). Every delete re-checks its condition in the
// statement, so two concurrent passes (two replicas) are safe: each row is
// deleted once and the other pass counts it no more. Run it on one
// replica (a cluster singleton) to avoid the wasted work.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	_ "github.com/fhirbridge/fhirbridge/batch/export" // registers export_slots
	_ "github.com/fhirbridge/fhirbridge/batch/ledger" // registers file_ledger
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Settings say what to keep. A zero age or count keeps that history
// forever. Defaults: see [Defaults].
type Settings struct {
	// Interval between passes of Run.
	Interval time.Duration `yaml:"interval"`
	// BatchSize is the most rows one transaction deletes.
	BatchSize int `yaml:"batch_size"`
	// PassBudget bounds the time of one pass; what is left waits for the
	// next.
	PassBudget time.Duration `yaml:"pass_budget"`
	// DeliveredJobs: delivery jobs in state delivered, last updated
	// longer ago, are deleted. Pending, in-flight, dead-lettered and
	// discarded jobs are kept.
	DeliveredJobs time.Duration `yaml:"delivered_jobs"`
	// KeepVersions: resource versions more than this many versions older
	// than the current one are deleted, unless a pending, in-flight or
	// dead-lettered delivery job names them.
	KeepVersions int `yaml:"keep_versions"`
	// Requests: stored idempotency responses older than this are deleted;
	// a sender's retry after that is processed again (it changes nothing
	// stored, but may deliver again). Keep it longer than any sender's
	// retry horizon.
	Requests time.Duration `yaml:"requests"`
	// Messages: delivered, rejected and accepted log messages older than
	// this are deleted.
	Messages time.Duration `yaml:"messages"`
	// Ledger: file-ledger entries and export slots older than this are
	// deleted. Inbound duplicate detection looks files up in the ledger
	// by content hash and path: a file dropped again after this age is
	// applied again. Keep it longer than a vendor could resend a file.
	Ledger time.Duration `yaml:"ledger"`
}

const day = 24 * time.Hour

// Defaults are the settings used for zero fields by [Settings.WithDefaults].
var Defaults = Settings{
	Interval:      time.Hour,
	BatchSize:     500,
	PassBudget:    time.Minute,
	DeliveredJobs: 30 * day,
	KeepVersions:  10,
	Requests:      30 * day,
	Messages:      90 * day,
	Ledger:        400 * day,
}

// maxBatch bounds BatchSize.
const maxBatch = 100000

// WithDefaults returns s with the scheduling fields (Interval, BatchSize,
// PassBudget) that are zero taken from Defaults. Retention ages and counts
// are not defaulted here: the config package applies Defaults to a
// section left out, and an explicit 0 keeps forever.
func (s Settings) WithDefaults() Settings {
	if s.Interval == 0 {
		s.Interval = Defaults.Interval
	}
	if s.BatchSize == 0 {
		s.BatchSize = Defaults.BatchSize
	}
	if s.PassBudget == 0 {
		s.PassBudget = Defaults.PassBudget
	}
	return s
}

// Validate reports a setting out of range.
func (s Settings) Validate() error {
	switch {
	case s.Interval < time.Minute:
		return fmt.Errorf("retention.interval %s: at least 1m", s.Interval)
	case s.BatchSize < 1 || s.BatchSize > maxBatch:
		return fmt.Errorf("retention.batch_size %d: between 1 and %d", s.BatchSize, maxBatch)
	case s.PassBudget < time.Second:
		return fmt.Errorf("retention.pass_budget %s: at least 1s", s.PassBudget)
	case s.KeepVersions < 0:
		return fmt.Errorf("retention.keep_versions %d: not negative", s.KeepVersions)
	}
	for _, a := range []struct {
		key string
		d   time.Duration
	}{{"delivered_jobs", s.DeliveredJobs}, {"requests", s.Requests}, {"messages", s.Messages}, {"ledger", s.Ledger}} {
		if a.d < 0 || (a.d > 0 && a.d < time.Hour) {
			return fmt.Errorf("retention.%s %s: 0 (keep forever) or at least 1h", a.key, a.d)
		}
	}
	return nil
}

// Tables pruned, as they appear in Report and the metric's label.
const (
	TableDeliveryJobs     = "delivery_jobs"
	TableResourceVersions = "resource_versions"
	TableRequests         = "requests"
	TableMessages         = "messages"
	TableFileLedger       = "file_ledger"
	TableExportSlots      = "export_slots"
)

// Report counts what one pass deleted, per table.
type Report struct {
	Deleted map[string]int64
	// Partial is true when the pass stopped at its budget (or ctx) with
	// rows left to delete.
	Partial bool
}

// Options are a Pruner's collaborators; zero fields have defaults.
type Options struct {
	// Log gets one line per pass (counts only); nil for none.
	Log *slog.Logger
	// Registerer registers fhirbridge_retention_deleted_total{table}; nil
	// for none.
	Registerer prometheus.Registerer
	// Now is the clock (time.Now).
	Now func() time.Time
	// Progress, if set, is called after each batch with the table and the
	// rows deleted so far from it in this pass.
	Progress func(table string, deleted int64)
}

// Pruner applies Settings to a store.
type Pruner struct {
	st      *store.Store
	s       Settings
	opt     Options
	deleted *prometheus.CounterVec
}

// New returns a Pruner of st with settings s (scheduling fields defaulted,
// see [Settings.WithDefaults]), or the settings' error.
func New(st *store.Store, s Settings, opt Options) (*Pruner, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	p := &Pruner{st: st, s: s, opt: opt, deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fhirbridge_retention_deleted_total",
		Help: "Rows deleted by retention, by table.",
	}, []string{"table"})}
	if opt.Registerer != nil {
		if err := opt.Registerer.Register(p.deleted); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("registering retention metrics: %w", err)
			}
			p.deleted = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return p, nil
}

// step is one table's batched delete: it deletes at most limit rows.
type step struct {
	table string
	on    bool
	del   func(ctx context.Context, limit int) (int64, error)
}

// heldStates are the delivery job states whose resource version must stay.
var heldStates = []string{string(delivery.StatePending), string(delivery.StateInFlight), string(delivery.StateDeadLetter)}

func (p *Pruner) steps(now time.Time) []step {
	s, st := p.s, p.st
	micros := func(age time.Duration) int64 { return now.Add(-age).UnixMicro() }
	return []step{
		{TableDeliveryJobs, s.DeliveredJobs > 0, func(ctx context.Context, n int) (int64, error) {
			return p.deleteMicros(ctx, "delivery_jobs", `DELETE FROM delivery_jobs WHERE id IN (
				SELECT id FROM delivery_jobs WHERE state = ? AND updated_at < ? LIMIT ?)`,
				string(delivery.StateDelivered), micros(s.DeliveredJobs), n)
		}},
		{TableResourceVersions, s.KeepVersions > 0, func(ctx context.Context, n int) (int64, error) {
			return st.PruneVersionsBatch(ctx, s.KeepVersions, heldStates, n)
		}},
		{TableRequests, s.Requests > 0, func(ctx context.Context, n int) (int64, error) {
			return st.PruneRequestsBatch(ctx, now.Add(-s.Requests), n)
		}},
		{TableMessages, s.Messages > 0, func(ctx context.Context, n int) (int64, error) {
			return st.PruneMessagesBatch(ctx, now.Add(-s.Messages), n)
		}},
		{TableFileLedger, s.Ledger > 0, func(ctx context.Context, n int) (int64, error) {
			// a file still being applied (its checkpoint) is never pruned,
			// however old: the replica that resumes it reads the checkpoint
			return p.deleteMicros(ctx, "file_ledger", `DELETE FROM file_ledger WHERE id IN (
				SELECT id FROM file_ledger WHERE at < ? AND outcome <> 'in_progress' ORDER BY id LIMIT ?)`, micros(s.Ledger), n)
		}},
		{TableExportSlots, s.Ledger > 0, func(ctx context.Context, n int) (int64, error) {
			return p.deleteMicros(ctx, "export_slots", `DELETE FROM export_slots WHERE (job, slot) IN (
				SELECT job, slot FROM export_slots WHERE at < ? LIMIT ?)`, micros(s.Ledger), n)
		}},
	}
}

// deleteMicros runs one batched DELETE of a table outside the store's own
// line in its own transaction.
func (p *Pruner) deleteMicros(ctx context.Context, table, query string, args ...any) (int64, error) {
	var n int64
	err := p.st.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.SQL().ExecContext(ctx, tx.Rebind(query), args...)
		if err != nil {
			return store.Classify("pruning "+table, err)
		}
		n, err = res.RowsAffected()
		return store.Classify("pruning "+table, err)
	})
	return n, err
}

// Pass runs one pass: each table in turn, batch after batch, until a
// batch deletes fewer rows than BatchSize or the pass budget is spent. It
// returns what it deleted, also on error (the first error ends the pass).
func (p *Pruner) Pass(ctx context.Context) (Report, error) {
	start := p.opt.Now()
	deadline := time.Now().Add(p.s.PassBudget)
	rep := Report{Deleted: map[string]int64{}}
	var err error
steps:
	for _, s := range p.steps(start) {
		if !s.on {
			continue
		}
		for {
			if ctx.Err() != nil || time.Now().After(deadline) {
				rep.Partial = true
				break steps
			}
			var n int64
			n, err = s.del(ctx, p.s.BatchSize)
			if err != nil {
				err = fmt.Errorf("retention pass: %w", err)
				break steps
			}
			rep.Deleted[s.table] += n
			p.deleted.WithLabelValues(s.table).Add(float64(n))
			if p.opt.Progress != nil {
				p.opt.Progress(s.table, rep.Deleted[s.table])
			}
			if n < int64(p.s.BatchSize) {
				break
			}
		}
	}
	if p.opt.Log != nil {
		attrs := []any{"partial", rep.Partial, "took", time.Since(deadline.Add(-p.s.PassBudget)).Round(time.Millisecond)}
		for _, t := range []string{TableDeliveryJobs, TableResourceVersions, TableRequests, TableMessages, TableFileLedger, TableExportSlots} {
			attrs = append(attrs, t, rep.Deleted[t])
		}
		if err != nil {
			attrs = append(attrs, "error", err)
		}
		p.opt.Log.Info("retention pass", attrs...)
	}
	return rep, err
}

// Run runs a pass at once and then every Interval until ctx is done. A
// failed pass is logged and retried at the next interval.
func (p *Pruner) Run(ctx context.Context) error {
	t := time.NewTicker(p.s.Interval)
	defer t.Stop()
	for {
		_, _ = p.Pass(ctx) // logged by Pass
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
