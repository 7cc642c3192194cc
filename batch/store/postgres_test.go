package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"net"
	"sync/atomic"
	"testing"
)

// requirePostgres turns a missing PostgreSQL into a failure (set by CI,
// which installs the Debian postgresql package).
const requirePostgres = "FHIRBRIDGE_REQUIRE_POSTGRES"

// TestPostgres runs the conformance suite against a throwaway PostgreSQL
// cluster started in a temporary folder on a free loopback port.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	base := pgtest.Start(t)
	var n atomic.Int64
	runConformance(t, harness{
		newURL: func(t *testing.T) string {
			name := fmt.Sprintf("fb_%d", n.Add(1))
			admin, err := sql.Open("pgx", base+"/postgres")
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close()
			if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
				t.Fatalf("creating database: %v", err)
			}
			return base + "/" + name
		},
		breakWrites: func(t *testing.T, s *Store) {
			s.db.SetMaxOpenConns(1)
			if _, err := s.db.Exec(`SET default_transaction_read_only = on`); err != nil {
				t.Fatal(err)
			}
		},
	})
	t.Run("ConnectionLost", func(t *testing.T) { testConnectionLost(t, base) })
}

// testConnectionLost kills the server backend under an open transaction:
// the next statement, and so the transaction, fails with ErrUnavailable.
func testConnectionLost(t *testing.T, base string) {
	ctx := context.Background()
	s, err := Open(ctx, base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	err = s.InTx(ctx, func(tx *Tx) error {
		var pid int
		if err := tx.tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return err
		}
		if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
		_, _, err := tx.PutResource(ctx, "Patient", "lost", []byte(`{"resourceType":"Patient","name":"`+canary+`"}`))
		return err
	})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("transaction on a killed connection = %v, want ErrUnavailable", err)
	}
	noCanary(t, err)
	t.Logf("connection lost: %v", err)
	// The pool replaces the dead connection.
	if _, _, err := s.GetResource(ctx, "Patient", "lost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after reconnect GetResource = %v, want ErrNotFound", err)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
