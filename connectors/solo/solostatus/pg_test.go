package solostatus

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPostgres runs the queue and migration tests of the webhook events
// again on a throwaway PostgreSQL cluster, one database per test; it skips
// without the server binaries, or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		skipPostgres(t, "-short")
	}
	base := startPostgres(t)
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	n := 0
	defer func(old func(*testing.T) string) { storeURL = old }(storeURL)
	storeURL = func(t *testing.T) string {
		n++
		name := fmt.Sprintf("solostatus_%d", n)
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("creating database: %v", err)
		}
		return base + "/" + name
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TestWebhookEventRetries", TestWebhookEventRetries},
		{"TestWebhookEventSurvivesRestart", TestWebhookEventSurvivesRestart},
		{"TestWebhookEventsMigration", TestWebhookEventsMigration},
		{"TestUnknownEventsAreKeptAndReplayed", TestUnknownEventsAreKeptAndReplayed},
	} {
		t.Run(tc.name, tc.fn)
	}
}

// skipPostgres skips, or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func skipPostgres(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("FHIRBRIDGE_REQUIRE_POSTGRES") == "1" {
		t.Fatalf("PostgreSQL required (FHIRBRIDGE_REQUIRE_POSTGRES=1) but unusable: %s", why)
	}
	t.Skipf("skipping PostgreSQL: %s (install the Debian package postgresql, e.g. postgresql-15)", why)
}

// startPostgres starts a cluster in a temporary folder on a free loopback
// port and returns its base URL without a database name; t.Cleanup stops
// it. Copied from batch/delivery's tests.
func startPostgres(t *testing.T) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		skipPostgres(t, "no /usr/lib/postgresql/*/bin/initdb")
	}
	slices.Sort(bins)
	binDir := filepath.Dir(bins[len(bins)-1])
	if _, err := os.Stat(filepath.Join(binDir, "postgres")); err != nil {
		skipPostgres(t, "server binary missing in "+binDir)
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
			skipPostgres(t, "running as root and no postgres user to run initdb as")
		}
		runuser, err := exec.LookPath("runuser")
		if err != nil {
			skipPostgres(t, "running as root and runuser not found")
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
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
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
