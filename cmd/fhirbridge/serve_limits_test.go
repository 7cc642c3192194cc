package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
)

// TestServeLimitsConfig checks that serve wires the server.max_* and
// server.metrics_auth keys into the endpoint.
func TestServeLimitsConfig(t *testing.T) {
	c, err := config.Load("", []string{
		"FHIRBRIDGE_DATA_DIR=" + t.TempDir(),
		"FHIRBRIDGE_SERVER__LISTEN=127.0.0.1:0",
		// sha256 of "foo"
		"FHIRBRIDGE_SERVER__TOKENS=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
		"FHIRBRIDGE_SERVER__METRICS_AUTH=true",
		"FHIRBRIDGE_SERVER__MAX_ARRAY=3",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("serve ended: %v", err)
	}
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(35 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	base := "http://" + addr
	names := func(n int) string {
		return `{"resourceType":"Patient","name":[` + strings.TrimSuffix(strings.Repeat(`{"family":"x"},`, n), ",") + `]}`
	}
	tests := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"metrics without a token", "GET", "/metrics", "", "", http.StatusUnauthorized},
		{"metrics with the token", "GET", "/metrics", "foo", "", http.StatusOK},
		{"array at max_array", "POST", "/fhir/Patient", "foo", names(3), http.StatusCreated},
		{"array over max_array", "POST", "/fhir/Patient", "foo", names(4), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/fhir+json")
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tt.want, body)
			}
		})
	}
}
