// Package pgtest starts a throwaway PostgreSQL cluster for the tests of
// the packages that run on PostgreSQL (the store, the delivery queue, the
// vendor modules' tables): a server binary of the Debian package
// postgresql, a temporary folder, a free loopback port.
package pgtest

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Require names the variable that, set to 1, makes a missing or unusable
// PostgreSQL a failure instead of a skip (CI sets it).
const Require = "FHIRBRIDGE_REQUIRE_POSTGRES"

// Skip skips the test, or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func Skip(t testing.TB, why string) {
	t.Helper()
	if os.Getenv(Require) == "1" {
		t.Fatalf("PostgreSQL required (FHIRBRIDGE_REQUIRE_POSTGRES=1) but unusable: %s", why)
	}
	t.Skipf("skipping PostgreSQL: %s (install the Debian package postgresql, e.g. postgresql-15)", why)
}

// Start starts a cluster in a temporary folder on a free loopback
// port and returns its base URL without a database name; t.Cleanup stops
// it.
func Start(t testing.TB) string {
	t.Helper()
	return start(t, false)
}

// StartDurable is Start with fsync on, as in production: for benchmarks,
// where a commit must cost its flush to disk. Start turns fsync off, which
// only tests that measure nothing can afford.
func StartDurable(t testing.TB) string {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, durable bool) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		Skip(t, "no /usr/lib/postgresql/*/bin/initdb")
	}
	slices.Sort(bins)
	binDir := filepath.Dir(bins[len(bins)-1])
	if _, err := os.Stat(filepath.Join(binDir, "postgres")); err != nil {
		Skip(t, "server binary missing in "+binDir)
	}
	dir, err := os.MkdirTemp("", "fhirbridge-pg-") // not t.TempDir: its parent is 0700
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var asUser []string // initdb refuses to run as root: run the tools as postgres
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Skip(t, "running as root and no postgres user to run initdb as")
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			Skip(t, "running as root and runuser not found")
		}
		var uid, gid int
		fmt.Sscan(u.Uid, &uid)
		fmt.Sscan(u.Gid, &gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		asUser = []string{runuser, "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) {
		t.Helper()
		argv := append(append(slices.Clone(asUser), filepath.Join(binDir, name)), args...)
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, dir)
	if !durable {
		opts += " -c fsync=off"
	}
	run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts)
	t.Cleanup(func() { run("pg_ctl", "stop", "-m", "immediate", "-D", data) })
	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d", port)
	db, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for deadline := time.Now().Add(30 * time.Second); db.Ping() != nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("PostgreSQL did not come up")
		}
	}
	return base
}

// CreateDatabase creates the database name on the cluster at base (as
// Start returns it) and returns its URL.
func CreateDatabase(t testing.TB, base, name string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	return base + "/" + name
}

// Databases starts a cluster for a test that runs other tests on
// PostgreSQL, one new database each: it skips under -short (or fails when
// FHIRBRIDGE_REQUIRE_POSTGRES=1), as Start does without the server, and
// returns a function that creates the next database, prefix_1, prefix_2
// …, and returns its URL. The function may be called from parallel tests.
func Databases(t testing.TB, prefix string) func(testing.TB) string {
	t.Helper()
	if testing.Short() {
		Skip(t, "-short")
	}
	base := Start(t)
	var n atomic.Int64
	return func(t testing.TB) string {
		t.Helper()
		return CreateDatabase(t, base, fmt.Sprintf("%s_%d", prefix, n.Add(1)))
	}
}
