package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// sqliteHarness gives each case a database file in its own temp dir.
var sqliteHarness = harness{
	newURL: func(t *testing.T) string {
		return "sqlite://" + filepath.Join(t.TempDir(), "fhirbridge.db")
	},
	breakWrites: func(t *testing.T, s *Store) {
		s.db.SetMaxOpenConns(1)
		if _, err := s.db.Exec(`PRAGMA query_only = 1`); err != nil {
			t.Fatal(err)
		}
	},
}

func TestSQLite(t *testing.T) { runConformance(t, sqliteHarness) }

func TestSQLitePragmas(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plain-path.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"}, {"busy_timeout", "10000"},
	} {
		var got string
		if err := s.db.QueryRow("PRAGMA " + p.pragma).Scan(&got); err != nil || got != p.want {
			t.Errorf("PRAGMA %s = %q (%v), want %q", p.pragma, got, err, p.want)
		}
	}
}

// TestSQLiteDiskFull fills the database to its page cap: the failing
// transaction reports ErrUnavailable and stores nothing; after space frees
// the store works again.
func TestSQLiteDiskFull(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.db.SetMaxOpenConns(1) // max_page_count is per connection
	var pages int
	if err := s.db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+40)); err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"resourceType":"Patient","note":"` + canary + strings.Repeat("x", 16<<10) + `"}`)
	var full error
	for i := 0; i < 50 && full == nil; i++ {
		_, _, full = putTx(s, "Patient", fmt.Sprint("p", i), big)
		if full != nil {
			if !errors.Is(full, ErrUnavailable) {
				t.Fatalf("put %d: got %v, want ErrUnavailable", i, full)
			}
			noCanary(t, full)
			t.Logf("disk full after %d puts: %v", i, full)
			if _, _, err := s.GetResource(ctx, "Patient", fmt.Sprint("p", i)); !errors.Is(err, ErrNotFound) {
				t.Errorf("failed put left a row: %v", err)
			}
		}
	}
	if full == nil {
		t.Fatal("database never filled up")
	}
	if _, err := s.db.Exec(`PRAGMA max_page_count = 1000000`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := putTx(s, "Patient", "after", big); err != nil {
		t.Errorf("after space freed: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, url := range []string{"sqlite://", "sqlite:///tmp/x.db?mode=ro"} {
		if s, err := Open(context.Background(), url); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", url)
		}
	}
	// A database that cannot be created is unavailable.
	_, err := Open(context.Background(), "/proc/fhirbridge-nope/x.db")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Open(uncreatable) = %v, want ErrUnavailable", err)
	} else {
		t.Logf("uncreatable: %v", err)
	}
}

// BenchmarkInTxPut10SQLite measures one durable 10-entry transaction (ten
// PutResource calls and a commit with fsync) on SQLite.
func BenchmarkInTxPut10SQLite(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := []byte(`{"resourceType":"Patient","active":true,"name":[{"family":"Bench","given":["A","B"]}],` +
		`"telecom":[{"system":"phone","value":"555-0100"}],"birthDate":"1970-01-01","note":"` + strings.Repeat("x", 800) + `"}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		err := s.InTx(ctx, func(tx *Tx) error {
			for j := range 10 {
				if _, _, err := tx.PutResource(ctx, "Patient", fmt.Sprintf("b%d-%d", i, j), body); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
