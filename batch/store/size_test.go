package store

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// TestSize: an SQLite store reports the bytes of its pages, which grow
// as it holds more.
func TestSize(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.Size(ctx)
	if err != nil || before <= 0 {
		t.Fatalf("Size = %d, %v; want the bytes of the migrated tables", before, err)
	}
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE size_probe (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO size_probe VALUES (zeroblob(1000000))`); err != nil {
		t.Fatal(err)
	}
	after, err := s.Size(ctx)
	if err != nil || after < before+900000 {
		t.Errorf("Size after 1 MB more = %d (%v), before %d", after, err, before)
	}
}

// TestPostgresSize: a PostgreSQL store reports its database's size (skips
// without the server binaries, like TestPostgres).
func TestPostgresSize(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	base := pgtest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n, err := s.Size(ctx)
	if err != nil || n < 1<<20 {
		t.Errorf("Size = %d, %v; want the database's bytes (a migrated PostgreSQL database takes megabytes)", n, err)
	}
}
