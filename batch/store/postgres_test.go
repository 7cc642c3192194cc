package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// requirePostgres turns a missing PostgreSQL into a failure (set by CI,
// which installs the Debian postgresql package).
const requirePostgres = "FHIRBRIDGE_REQUIRE_POSTGRES"

// TestPostgres runs the conformance suite against a throwaway PostgreSQL
// cluster started in a temporary folder on a free loopback port.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		skipPostgres(t, "-short")
	}
	base := startPostgres(t)
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

// skipPostgres skips, or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func skipPostgres(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(requirePostgres) == "1" {
		t.Fatalf("PostgreSQL required (%s=1) but unusable: %s", requirePostgres, why)
	}
	t.Skipf("skipping PostgreSQL conformance: %s (install the Debian package postgresql, e.g. postgresql-15)", why)
}

// startPostgres starts a cluster and returns its base URL without the
// database name. The cluster is stopped and deleted in t.Cleanup.
func startPostgres(t *testing.T) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		skipPostgres(t, "no /usr/lib/postgresql/*/bin/initdb")
	}
	sort.Strings(bins)
	binDir := filepath.Dir(bins[len(bins)-1])
	if _, err := os.Stat(filepath.Join(binDir, "postgres")); err != nil {
		skipPostgres(t, "server binary missing in "+binDir)
	}

	dir, err := os.MkdirTemp("", "fhirbridge-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// initdb refuses to run as root: run the server tools as postgres.
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipPostgres(t, "running as root and no postgres user to run initdb as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			skipPostgres(t, "running as root and runuser not found")
		}
		asUser = []string{runuser, "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) {
		t.Helper()
		argv := append(append(append([]string{}, asUser...), filepath.Join(binDir, name)), args...)
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	port := freePort(t)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on", port, dir)
	run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts)
	t.Cleanup(func() { run("pg_ctl", "stop", "-m", "immediate", "-D", data) })

	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d", port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for db.PingContext(ctx) != nil {
		if ctx.Err() != nil {
			t.Fatal("PostgreSQL did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return base
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
