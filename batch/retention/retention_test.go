package retention

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// seed stores the history the cases prune, relative to t0 (the pruner's
// clock is t0 + 45 days):
//   - jobs (updated_at): delivered at t0-10d and t0+40d; pending,
//     in-flight, dead-lettered and discarded at t0-10d;
//   - Patient p1 with 15 versions (jobs name v2 delivered, v3 pending,
//     v4 dead-lettered, v5 in-flight), p2 with 3;
//   - 2 requests stored now; messages delivered, accepted and pending at
//     t0-100d and delivered at t0;
//   - ledger entries and export slots at t0-400d and t0, and an
//     in-progress ledger entry at t0-400d that must stay.
func seed(t *testing.T, st *store.Store, t0 time.Time) {
	t.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for v := 1; v <= 15; v++ {
			if _, _, err := tx.PutResource(ctx, "Patient", "p1", []byte(fmt.Sprintf(`{"resourceType":"Patient","id":"p1","gender":"v%d"}`, v))); err != nil {
				return err
			}
		}
		for v := 1; v <= 3; v++ {
			if _, _, err := tx.PutResource(ctx, "Patient", "p2", []byte(fmt.Sprintf(`{"resourceType":"Patient","id":"p2","gender":"v%d"}`, v))); err != nil {
				return err
			}
		}
		old, recent := t0.Add(-10*day).UnixMicro(), t0.Add(40*day).UnixMicro()
		for i, j := range []struct {
			state   string
			version int
			at      int64
		}{
			{"delivered", 2, old}, {"delivered", 6, recent}, {"pending", 3, old},
			{"in_flight", 5, old}, {"dlq", 4, old}, {"discarded", 1, old},
		} {
			_, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO delivery_jobs
				(flow, resource_type, resource_id, version, state, attempts, retry_base, run_at, lease_until, last_error, created_at, updated_at)
				VALUES (?, 'Patient', 'p1', ?, ?, 0, 0, 0, 0, '', ?, ?)`), fmt.Sprintf("f%d", i), j.version, j.state, j.at, j.at)
			if err != nil {
				return err
			}
		}
		for _, k := range []string{"k1", "k2"} {
			if _, _, _, err := tx.RememberRequest(ctx, k, "", 200, []byte("{}")); err != nil {
				return err
			}
		}
		for _, m := range []struct {
			status string
			at     time.Time
		}{{"delivered", t0.Add(-100 * day)}, {"accepted", t0.Add(-100 * day)}, {"pending", t0.Add(-100 * day)}, {"delivered", t0}} {
			if _, err := tx.LogMessage(ctx, store.Message{At: m.at, Direction: store.Out, Kind: "k", Status: m.status}); err != nil {
				return err
			}
		}
		for i, at := range []time.Time{t0.Add(-400 * day), t0} {
			id, err := ledger.Record(ctx, tx, ledger.Entry{Direction: ledger.In, Job: "j", Path: fmt.Sprintf("f%d.csv", i), Outcome: "ok", At: at})
			if err != nil {
				return err
			}
			if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO export_slots (job, slot, ledger_id, at) VALUES ('j', ?, ?, ?)`),
				fmt.Sprintf("s%d", i), id, at.UnixMicro()); err != nil {
				return err
			}
		}
		// a file still being applied at t0-400d: its checkpoint is never pruned
		if _, err := ledger.Record(ctx, tx, ledger.Entry{Direction: ledger.In, Job: "j", Path: "big.csv", Outcome: ledger.OutcomeInProgress, At: t0.Add(-400 * day)}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seeding: %v", err)
	}
}

// keepAll is Settings that delete nothing.
var keepAll = Settings{}

func with(f func(*Settings)) Settings { s := Defaults; f(&s); return s }

type harness func(t *testing.T) *store.Store

func runCases(t *testing.T, open harness) {
	cases := []struct {
		name     string
		s        Settings
		want     map[string]int64
		versions []int // p1's versions left
	}{
		{"defaults", Defaults, map[string]int64{TableDeliveryJobs: 1, TableResourceVersions: 2, TableRequests: 2, TableMessages: 2, TableFileLedger: 1, TableExportSlots: 1},
			[]int{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3}},
		{"keep everything", keepAll, map[string]int64{}, nil},
		{"batches of one", with(func(s *Settings) { s.BatchSize = 1 }),
			map[string]int64{TableDeliveryJobs: 1, TableResourceVersions: 2, TableRequests: 2, TableMessages: 2, TableFileLedger: 1, TableExportSlots: 1}, nil},
		{"keep one version, requests 60 days", with(func(s *Settings) { s.KeepVersions = 1; s.Requests = 60 * day }),
			map[string]int64{TableDeliveryJobs: 1, TableResourceVersions: 13, TableMessages: 2, TableFileLedger: 1, TableExportSlots: 1},
			[]int{15, 5, 4, 3}},
		{"long ages", with(func(s *Settings) { s.DeliveredJobs = 60 * day; s.Messages = 200 * day; s.Ledger = 500 * day }),
			map[string]int64{TableResourceVersions: 2, TableRequests: 2}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t0 := time.Now()
			seed(t, st, t0)
			reg := prometheus.NewRegistry()
			p, err := New(st, tc.s, Options{Now: func() time.Time { return t0.Add(45 * day) }, Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := p.Pass(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for k, v := range rep.Deleted {
				if v != 0 {
					got[k] = v
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" || rep.Partial {
				t.Errorf("deleted (-want +got):\n%s partial %v", d, rep.Partial)
			}
			if n := testutil.ToFloat64(p.deleted.WithLabelValues(TableRequests)); n != float64(tc.want[TableRequests]) {
				t.Errorf("metric requests = %v, want %d", n, tc.want[TableRequests])
			}
			if tc.versions != nil {
				h, err := st.History(context.Background(), "Patient", "p1")
				if err != nil {
					t.Fatal(err)
				}
				var vs []int
				for _, v := range h {
					vs = append(vs, v.Version)
				}
				if !cmp.Equal(vs, tc.versions) {
					t.Errorf("p1 versions left %v, want %v", vs, tc.versions)
				}
			}
			if _, v, err := st.GetResource(context.Background(), "Patient", "p1"); err != nil || v != 15 {
				t.Errorf("current p1 = v%d, %v", v, err)
			}
			// A second pass finds nothing more.
			if rep, err := p.Pass(context.Background()); err != nil || sum(rep) != 0 {
				t.Errorf("second pass deleted %v, %v", rep.Deleted, err)
			}
		})
	}
	t.Run("concurrent passes", func(t *testing.T) {
		st := open(t)
		t0 := time.Now()
		seed(t, st, t0)
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := int64(0)
		for range 3 {
			p, err := New(st, with(func(s *Settings) { s.BatchSize = 1; s.KeepVersions = 1 }), Options{Now: func() time.Time { return t0.Add(45 * day) }})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				rep, err := p.Pass(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += sum(rep)
				mu.Unlock()
			})
		}
		wg.Wait()
		if want := int64(1 + 13 + 2 + 2 + 1 + 1); total != want {
			t.Errorf("three concurrent passes deleted %d rows, want %d", total, want)
		}
	})
}

func sum(r Report) int64 {
	var n int64
	for _, v := range r.Deleted {
		n += v
	}
	return n
}

func TestSQLite(t *testing.T) {
	runCases(t, func(t *testing.T) *store.Store {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "fhirbridge.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestPostgres(t *testing.T) {
	newDB := pgtest.Databases(t, "ret")
	runCases(t, func(t *testing.T) *store.Store {
		st, err := store.Open(context.Background(), newDB(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Settings
		ok   bool
	}{
		{"defaults", Defaults, true},
		{"keep all", keepAll.WithDefaults(), true},
		{"short interval", with(func(s *Settings) { s.Interval = time.Second }), false},
		{"huge batch", with(func(s *Settings) { s.BatchSize = maxBatch + 1 }), false},
		{"negative versions", with(func(s *Settings) { s.KeepVersions = -1 }), false},
		{"minute ages", with(func(s *Settings) { s.Requests = time.Minute }), false},
		{"negative age", with(func(s *Settings) { s.Ledger = -time.Hour }), false},
	} {
		if err := tc.s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestFromConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want Settings
		err  bool
	}{
		{"absent: defaults", "", Defaults, false},
		{"overrides", "retention:\n  keep_versions: 3\n  requests: 48h\n  batch_size: 100\n",
			with(func(s *Settings) { s.KeepVersions = 3; s.Requests = 48 * time.Hour; s.BatchSize = 100 }), false},
		{"keep tables", "retention:\n  keep: [resource_versions, file_ledger]\n",
			with(func(s *Settings) { s.KeepVersions = 0; s.Ledger = 0 }), false},
		{"unknown table", "retention:\n  keep: [patients]\n", Settings{}, true},
		{"short age", "retention:\n  messages: 10m\n", Settings{}, true},
		{"negative versions", "retention:\n  keep_versions: -1\n", Settings{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fhirbridge.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(path, nil)
			if (err != nil) != tc.err {
				t.Fatalf("Load = %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			got := FromConfig(c.Retention)
			if !cmp.Equal(got, tc.want) {
				t.Errorf("settings %+v, want %+v", got, tc.want)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("settings from a valid config: %v", err)
			}
		})
	}
}
