package store

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testPrune(t *testing.T, s *Store) {
	ctx := context.Background()
	cutoff := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old, young := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	all := []string{StatusPending, StatusInFlight, StatusDeadLetter, StatusDelivered, StatusRejected, StatusAccepted}
	err := s.InTx(ctx, func(tx *Tx) error {
		for _, at := range []time.Time{old, young} {
			for _, st := range all {
				if _, err := tx.LogMessage(ctx, Message{At: at, Direction: Out, Kind: "k", Status: st}); err != nil {
					return err
				}
			}
		}
		_, _, _, err := tx.RememberRequest(ctx, "k1", "", 200, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Status string
		Old    bool
	}
	snapshot := func() []row {
		ms, err := s.Messages(ctx, MessageFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for _, m := range ms {
			out = append(out, row{m.Status, m.At.Before(cutoff)})
		}
		sort.Slice(out, func(i, j int) bool {
			return out[i].Status < out[j].Status || out[i].Status == out[j].Status && out[i].Old
		})
		return out
	}
	nonTerminal := func(rs []row) (out []row) {
		for _, r := range rs {
			if r.Status == StatusPending || r.Status == StatusInFlight || r.Status == StatusDeadLetter {
				out = append(out, r)
			}
		}
		return out
	}
	before := snapshot()
	// The request was stored now, after the cut-off: it stays.
	n, err := s.Prune(ctx, cutoff)
	if err != nil || n != 3 {
		t.Fatalf("Prune = (%d, %v), want (3, nil)", n, err)
	}
	after := snapshot()
	if d := cmp.Diff(nonTerminal(before), nonTerminal(after)); d != "" {
		t.Errorf("non-terminal messages changed (-before +after):\n%s", d)
	}
	for _, r := range after {
		if r.Old && (r.Status == StatusDelivered || r.Status == StatusRejected || r.Status == StatusAccepted) {
			t.Errorf("old terminal message %q survived", r.Status)
		}
	}
	if len(after) != len(before)-3 {
		t.Errorf("%d messages after prune, want %d", len(after), len(before)-3)
	}
	if _, _, err := s.Request(ctx, "k1", ""); err != nil {
		t.Errorf("young request pruned: %v", err)
	}
	// A later cut-off removes the request too, and still no non-terminal row.
	if n, err := s.Prune(ctx, time.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Errorf("second Prune = (%d, %v), want (4, nil): 3 young terminal messages + 1 request", n, err)
	}
	if d := cmp.Diff(nonTerminal(before), snapshot()); d != "" {
		t.Errorf("second prune touched non-terminal rows (-want +got):\n%s", d)
	}
}

func testDurability(t *testing.T, url string, open func(*testing.T, string) *Store) {
	ctx := context.Background()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *Tx) error {
		if _, _, err := tx.PutResource(ctx, "Patient", "d1", []byte(`{"resourceType":"Patient"}`)); err != nil {
			return err
		}
		return tx.LinkVendorID(ctx, "solo", "Patient", "d1", "SPID-d1")
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, url)
	if _, v, err := s2.GetResource(ctx, "Patient", "d1"); v != 1 || err != nil {
		t.Errorf("after reopen GetResource = (%d, %v)", v, err)
	}
	if id, err := s2.VendorID(ctx, "solo", "Patient", "d1"); id != "SPID-d1" || err != nil {
		t.Errorf("after reopen VendorID = (%q, %v)", id, err)
	}
}

func testMigrations(t *testing.T, url string, open func(*testing.T, string) *Store) {
	ctx := context.Background()
	s := open(t, url)
	latest := latestVersion()
	count := func() (n, max int) {
		if err := s.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations WHERE line = 'store'`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		return n, max
	}
	if n, max := count(); n != latest || max != latest {
		t.Fatalf("schema_migrations: %d rows, max %d; want %d", n, max, latest)
	}
	// Reopening applies nothing twice.
	for range 2 {
		again, err := Open(ctx, url)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		again.Close()
	}
	if n, max := count(); n != latest || max != latest {
		t.Errorf("after reopen: %d rows, max %d; want %d", n, max, latest)
	}
	// A database migrated by a newer binary is refused.
	if _, err := s.db.Exec(s.rebind(`INSERT INTO schema_migrations (line, version, applied_at) VALUES (?, ?, ?)`), StoreLine, latest+1, "x"); err != nil {
		t.Fatal(err)
	}
	if newer, err := Open(ctx, url); !errors.Is(err, ErrSchemaTooNew) {
		if newer != nil {
			newer.Close()
		}
		t.Errorf("Open(newer schema) = %v, want ErrSchemaTooNew", err)
	}
}

func TestSplitStatements(t *testing.T) {
	src := "-- comment;\nCREATE TABLE a (x INT);\n\nCREATE INDEX i ON a (x);\n-- end\n"
	want := []string{"CREATE TABLE a (x INT);", "CREATE INDEX i ON a (x);"}
	if d := cmp.Diff(want, splitStatements(src)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestRebind(t *testing.T) {
	cases := []struct {
		d    dialect
		in   string
		want string
	}{
		{sqliteDialect, "a = ? AND b = ?", "a = ? AND b = ?"},
		{postgresDialect, "a = ? AND b = ?", "a = $1 AND b = $2"},
		{postgresDialect, "no params", "no params"},
	}
	for _, c := range cases {
		if got := (&Store{dialect: c.d}).rebind(c.in); got != c.want {
			t.Errorf("rebind(%s, %q) = %q, want %q", c.d, c.in, got, c.want)
		}
	}
}
