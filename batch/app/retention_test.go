package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeRunsRetention: serve runs the retention passes itself (as the
// cluster's "retention" singleton), so a store under serve stays bounded
// without an operator's cron; its metrics show it.
func TestServeRunsRetention(t *testing.T) {
	c := sqliteConfig(t)
	ctx, stop := context.WithCancel(context.Background())
	addr, done, err := Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); <-done }()
	want := []string{
		`fhirbridge_retention_deleted_total{table="delivery_jobs"} 0`,
		`fhirbridge_cluster_singleton_running{work="retention"} 1`,
	}
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(body, w)
		}
		if !missing {
			return
		}
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}
