package delivery

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// BenchmarkBrowse1M measures the console's queue queries on 1,000,000
// jobs (SQLite): 4 flows, mostly delivered over 10 days, 1% dead, 0.5%
// pending. Seeding takes a while, so it runs only with
// FHIRBRIDGE_BENCH_1M=1:
//
//	FHIRBRIDGE_BENCH_1M=1 go test -run '^$' -bench Browse1M -benchtime 20x ./batch/delivery
func BenchmarkBrowse1M(b *testing.B) {
	if os.Getenv("FHIRBRIDGE_BENCH_1M") != "1" {
		b.Skip("set FHIRBRIDGE_BENCH_1M=1 to seed 1,000,000 jobs")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "fhirbridge.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 1_000_000
	now := time.Now()
	start := micros(now.Add(-10 * 24 * time.Hour))
	step := (micros(now) - start) / n
	// one statement: ids in time order, states by id modulo
	_, err = st.DB().ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < `+strconv.Itoa(n)+`)
		INSERT INTO delivery_jobs (flow, resource_type, resource_id, version, state, attempts, retry_base, run_at, lease_until, last_error, created_at, updated_at)
		SELECT 'flow-' || (i % 4), 'Patient', 'p' || i, 1,
			CASE WHEN i % 100 = 7 THEN 'dlq' WHEN i % 200 = 3 THEN 'pending' ELSE 'delivered' END,
			1, 0, ?, 0, '', ? + i * ?, ? + i * ? FROM seq`, micros(now), start, step, start, step)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	q := NewQueue(st)
	cases := []struct {
		name string
		run  func() error
	}{
		{"page/all", func() error { _, _, err := q.Page(ctx, Query{}); return err }},
		{"page/dlq", func() error { _, _, err := q.Page(ctx, Query{State: StateDeadLetter}); return err }},
		{"page/flow+dlq", func() error {
			_, _, err := q.Page(ctx, Query{Flows: []string{"flow-3"}, State: StateDeadLetter})
			return err
		}},
		{"page/flow", func() error { _, _, err := q.Page(ctx, Query{Flows: []string{"flow-1"}}); return err }},
		{"page/flow+since", func() error {
			_, _, err := q.Page(ctx, Query{Flows: []string{"flow-1"}, Since: now.Add(-2 * time.Hour)})
			return err
		}},
		{"page/dlq+deep", func() error { _, _, err := q.Page(ctx, Query{State: StateDeadLetter, Before: 20_000}); return err }},
		{"countdead/flow", func() error { _, err := q.CountDead(ctx, Query{Flows: []string{"flow-3"}}); return err }},
		{"stats", func() error { _, err := q.Stats(ctx, now); return err }},
		{"stats/waiting", func() error {
			return q.each(ctx, "", `SELECT state, flow, count(*) FROM delivery_jobs WHERE state IN ('pending', 'in_flight') GROUP BY state, flow`, nil, func(scanner) error { return nil })
		}},
		{"stats/dead", func() error {
			return q.each(ctx, "", `SELECT flow, count(*) FROM delivery_jobs WHERE state = 'dlq' GROUP BY flow`, nil, func(scanner) error { return nil })
		}},
		{"stats/delivered", func() error {
			return q.each(ctx, "", `SELECT flow, count(*) FROM delivery_jobs WHERE state = 'delivered' AND updated_at >= ? GROUP BY flow`,
				[]any{micros(now.Add(-24 * time.Hour))}, func(scanner) error { return nil })
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
