//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// postBundles posts crashBundle(from) .. crashBundle(to-1) to base, failing
// the test on any answer but 200.
func postBundles(t *testing.T, base string, from, to int) {
	t.Helper()
	for n := from; n < to; n++ {
		if err := postCrashBundle(base, n); err != nil {
			t.Fatal(err)
		}
	}
}

// postCrashBundle posts crashBundle(n) and wants 200.
func postCrashBundle(base string, n int) error {
	resp, err := http.Post(base+"/fhir", "application/fhir+json", bytes.NewReader(crashBundle(n)))
	if err != nil {
		return fmt.Errorf("bundle %d: %w", n, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bundle %d: %d %.300s", n, resp.StatusCode, body)
	}
	return nil
}

// postWhile posts Bundles from n up, one client, until stop is closed,
// and returns the numbers acknowledged (200).
func postWhile(t *testing.T, base string, n int, stop <-chan struct{}) (acked func() []int, wait func()) {
	var mu sync.Mutex
	var ok []int
	var wg sync.WaitGroup
	var failed atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := postCrashBundle(base, n); err != nil {
				failed.Store(err)
				return
			}
			mu.Lock()
			ok = append(ok, n)
			mu.Unlock()
		}
	}()
	return func() []int {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(ok)
		}, func() {
			wg.Wait()
			if err, _ := failed.Load().(error); err != nil {
				t.Errorf("posting during the backup: %v", err)
			}
		}
}

// wantStored fails unless serve at base answers Patient/pat-n and
// Appointment/appt-n for every n.
func wantStored(t *testing.T, base, what string, ns []int) {
	t.Helper()
	missing := 0
	for _, n := range ns {
		for _, path := range []string{fmt.Sprintf("Patient/pat-%d", n), fmt.Sprintf("Appointment/appt-%d", n)} {
			resp, err := http.Get(base + "/fhir/" + path)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				if missing++; missing <= 5 {
					t.Errorf("%s: GET %s: %d, want 200", what, path, resp.StatusCode)
				}
			}
		}
	}
	if missing > 5 {
		t.Errorf("%s: %d resources missing in all", what, missing)
	}
}

// TestBackupRestoreSQLite follows the README's backup of the SQLite
// store: while serve runs and Bundles keep arriving, `sqlite3 DB
// ".backup 'COPY'"` (and the `VACUUM INTO` variant) takes an online copy;
// the copy passes integrity_check, and serve started on it (restored as
// the README says: the copy as fhirbridge.db, no -wal or -shm) answers
// every resource acknowledged before the backup began. Skipped without the
// sqlite3 CLI unless FHIRBRIDGE_REQUIRE_SQLITE3=1.
func TestBackupRestoreSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve")
	}
	sqlite3 := lookTool(t, "sqlite3", "FHIRBRIDGE_REQUIRE_SQLITE3", "sqlite3")
	bin := buildBinary(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	live := startServeProc(t, bin, dir, "data_dir: "+data+"\n")
	postBundles(t, live.Base, 1, 21)
	db := filepath.Join(data, "fhirbridge.db")
	if _, err := os.Stat(db + "-wal"); err != nil {
		t.Fatalf("the live store has no -wal file (%v): the test would not show an online copy", err)
	}

	for i, how := range []string{".backup '%s'", "VACUUM INTO '%s'"} {
		copyPath := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		what := strings.Fields(how)[0]
		// Bundles keep arriving while the copy is taken.
		stop := make(chan struct{})
		acked, wait := postWhile(t, live.Base, 1000*(i+1), stop)
		time.Sleep(100 * time.Millisecond)
		ackedBefore := acked()
		out, err := exec.Command(sqlite3, db, fmt.Sprintf(how, copyPath)).CombinedOutput()
		close(stop)
		wait()
		if err != nil {
			t.Fatalf("sqlite3 %s: %v\n%s", what, err, out)
		}
		out, err = exec.Command(sqlite3, copyPath, "PRAGMA integrity_check").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Fatalf("%s: integrity_check of the copy: %v %s", what, err, out)
		}

		// Restore: the copy becomes fhirbridge.db of a fresh data_dir.
		rdir := t.TempDir()
		rdata := filepath.Join(rdir, "data")
		if err := os.MkdirAll(rdata, 0o700); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(copyPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rdata, "fhirbridge.db"), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		restored := startServeProc(t, bin, rdir, "data_dir: "+rdata+"\n")
		var want []int
		for n := 1; n < 21; n++ {
			want = append(want, n)
		}
		want = append(want, ackedBefore...)
		wantStored(t, restored.Base, "restored from "+what, want)
		t.Logf("%s: %d Bundles acknowledged before the copy found in the restored store; %d were posted during it", what, len(want), len(acked())-len(ackedBefore))
		restored.Stop(t)
	}
	live.Stop(t)
}

// pgTool returns the newest PostgreSQL client binary name (pg_dump,
// pg_restore) of the Debian packages, the same major version as the
// server pgtest runs.
func pgTool(t *testing.T, name string) string {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(bins) == 0 {
		pgtest.Skip(t, "no /usr/lib/postgresql/*/bin/"+name)
	}
	slices.Sort(bins)
	return bins[len(bins)-1]
}

// TestBackupRestorePostgres follows the README's backup of a PostgreSQL
// store: pg_dump --format=custom while serve runs, pg_restore --clean
// --if-exists --no-owner into an empty database, and serve started on that
// database answers every resource acknowledged before the dump. Skipped
// without PostgreSQL unless FHIRBRIDGE_REQUIRE_POSTGRES=1.
func TestBackupRestorePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs serve on PostgreSQL")
	}
	dump, restore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	base := pgtest.Start(t)
	srcURL := pgtest.CreateDatabase(t, base, "fhirbridge_live")
	bin := buildBinary(t)
	dir := t.TempDir()
	live := startServeProc(t, bin, dir, "data_dir: "+filepath.Join(dir, "data")+"\ndatabase: {url: \""+srcURL+"\"}\n")
	postBundles(t, live.Base, 1, 21)

	file := filepath.Join(dir, "fhirbridge.dump")
	stop := make(chan struct{})
	acked, wait := postWhile(t, live.Base, 1000, stop)
	time.Sleep(100 * time.Millisecond)
	ackedBefore := acked()
	out, err := exec.Command(dump, "--format=custom", "--file="+file, srcURL).CombinedOutput()
	close(stop)
	wait()
	if err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, out)
	}
	live.Stop(t)

	dstURL := pgtest.CreateDatabase(t, base, "fhirbridge_restored")
	if out, err := exec.Command(restore, "--clean", "--if-exists", "--no-owner", "--dbname="+dstURL, file).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, out)
	}
	rdir := t.TempDir()
	restored := startServeProc(t, bin, rdir, "data_dir: "+filepath.Join(rdir, "data")+"\ndatabase: {url: \""+dstURL+"\"}\n")
	want := append([]int{}, ackedBefore...)
	for n := 1; n < 21; n++ {
		want = append(want, n)
	}
	wantStored(t, restored.Base, "restored from pg_dump", want)
	// A Bundle posted after the restore is stored (sequences restored too).
	postBundles(t, restored.Base, 5000, 5003)
	wantStored(t, restored.Base, "posted after the restore", []int{5000, 5001, 5002})
	t.Logf("%d Bundles acknowledged before the dump found in the restored database; %d were posted during it", len(want), len(acked())-len(ackedBefore))
	restored.Stop(t)
}
