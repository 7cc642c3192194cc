package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// TestSecondServeOnSQLiteRefused: a second serve on the data folder a
// running serve uses refuses to start with a message naming the lock and
// the way out, so a rolling restart begun too early cannot work the queue
// twice; once the first stops, a new serve starts.
func TestSecondServeOnSQLiteRefused(t *testing.T) {
	c := sqliteConfig(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := context.WithCancel(context.Background())
	_, done, err := Start(ctx, c, log)
	if err != nil {
		t.Fatal(err)
	}
	err = Serve(context.Background(), c, log, nil)
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second serve: err = %v, want ErrLocked", err)
	}
	for _, want := range []string{"serve.lock", "one serving process", "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("first serve: %v", err)
	}
	ctx2, stop2 := context.WithCancel(context.Background())
	_, done2, err := Start(ctx2, c, log)
	if err != nil {
		t.Fatalf("serve after the first stopped: %v", err)
	}
	stop2()
	<-done2
}

// sqliteConfig is the embedded defaults with the data folder in a
// temporary directory and the endpoint on a free loopback port.
func sqliteConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+filepath.Join(dir, "data")+"\nserver: {listen: \"127.0.0.1:0\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
