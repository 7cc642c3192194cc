package tuotempo

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestExportScheduler: the console's view of the export jobs lists each
// with its schedule and next run, runs one now (uploaded to the remote
// and recorded in the ledger) and reads the uploaded file back; a path
// leaving the remote's base is refused.
func TestExportScheduler(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "remote"), 0o750); err != nil {
		t.Fatal(err)
	}
	cfg := decode(t, "remote: {kind: local, dir: "+filepath.Join(dir, "remote")+"}\n"+
		"exports: [{name: nightly, schedule: '30 2 * * *', timezone: Europe/Madrid}]\n")
	m, err := New(cfg, testRoot{dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	scheds, err := m.ExportSchedules()
	if err != nil || len(scheds) != 1 || scheds[0].Job != "nightly" || !strings.Contains(scheds[0].Schedule, "Europe/Madrid") {
		t.Fatalf("ExportSchedules = %+v, %v", scheds, err)
	}
	from := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if next := scheds[0].Next(from); !next.Equal(time.Date(2026, 12, 7, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("next run after %s = %s, want 02:30 Madrid the next day", from, next)
	}
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out bytes.Buffer
	if err := m.RunExportNow(ctx, &out, st, "nightly"); err != nil {
		t.Fatalf("RunExportNow: %v\n%s", err, out.String())
	}
	if err := m.RunExportNow(ctx, &out, st, "nope"); err == nil || !strings.Contains(err.Error(), `no export job "nope"`) {
		t.Errorf("running an unknown job: %v", err)
	}
	entries, err := ledger.List(ctx, st, ledger.Filter{Direction: ledger.Out, Job: "nightly"})
	if err != nil || len(entries) != 1 || entries[0].Outcome != ledger.OutcomeOK {
		t.Fatalf("ledger after run now = %+v, %v", entries, err)
	}
	rc, err := m.OpenExport(ctx, "nightly", entries[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || int64(len(body)) != entries[0].Size {
		t.Errorf("read back %d bytes (%v), ledger says %d", len(body), err, entries[0].Size)
	}
	for _, bad := range []string{"", "/etc/passwd", "../x.csv", "a/../../x.csv"} {
		if _, err := m.OpenExport(ctx, "nightly", bad); err == nil {
			t.Errorf("OpenExport(%q) was allowed", bad)
		}
	}
}
