package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
)

// TestServeEndToEnd starts serve on the embedded defaults (SQLite in a
// temporary data directory, a free loopback port), posts the demo Bundle,
// reads an Appointment back, and stops it gracefully.
func TestServeEndToEnd(t *testing.T) {
	c, err := config.Load("", []string{
		"FHIRBRIDGE_DATA_DIR=" + t.TempDir(),
		"FHIRBRIDGE_SERVER__LISTEN=127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a string) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	bundle, err := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/fhir", "application/fhir+json", strings.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "transaction-response") {
		t.Fatalf("POST /fhir: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/fhir/Appointment/appt-demo-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"appt-demo-1"`) || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
