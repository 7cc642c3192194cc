package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestDeliveriesRetryDead: retry-dead counts the dead letters of a flow
// and time span, retries them only with --yes (the console's bulk retry,
// through the same Queue calls), and refuses a malformed time naming the
// flag.
func TestDeliveriesRetryDead(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i, flow := range []string{"a", "a", "a", "b"} {
		id := fmt.Sprintf("p%d", i)
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return delivery.Enqueue(ctx, tx, delivery.Job{Flow: flow, ResourceType: "Patient", ResourceID: id, Version: 1})
		}); err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		if i == 2 {
			at = at.Add(-72 * time.Hour)
		}
		if _, err := st.DB().Exec(`UPDATE delivery_jobs SET state = 'dlq', updated_at = ? WHERE resource_id = ?`, at.UnixMicro(), id); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	since := time.Now().UTC().Add(-24 * time.Hour).Format("2006-01-02T15:04")
	out, stderr, code := run(t, "", "deliveries", "retry-dead", "--flow", "a", "--since", since, "--config", cfg)
	if code != 0 || !strings.Contains(out, "2 dead letters match; add --yes") {
		t.Fatalf("count only: exit %d\n%s%s", code, out, stderr)
	}
	out, _, _ = run(t, "", "deliveries", "list", "--state", "pending", "--config", cfg)
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("without --yes jobs were retried:\n%s", out)
	}
	out, stderr, code = run(t, "", "deliveries", "retry-dead", "--flow", "a", "--since", since, "--yes", "--config", cfg)
	if code != 0 || !strings.Contains(out, "2 dead letters queued to run now") {
		t.Fatalf("--yes: exit %d\n%s%s", code, out, stderr)
	}
	out, _, _ = run(t, "", "deliveries", "list", "--state", "dlq", "--config", cfg)
	if !strings.Contains(out, "Patient/p2/") || !strings.Contains(out, "Patient/p3/") || strings.Count(out, "\n") != 3 {
		t.Errorf("dead letters left (want the old one of a and the one of b):\n%s", out)
	}
	if _, stderr, code := run(t, "", "deliveries", "retry-dead", "--until", "tomorrow", "--config", cfg); code == 0 || !strings.Contains(stderr, `--until "tomorrow"`) {
		t.Errorf("a malformed --until: exit %d, %s", code, stderr)
	}
}
