package app

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

func status(t *testing.T, u string) int {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeMountsConsole: serve offers /console/ on its listener when
// console.enabled is auto and a console user exists, or true; not when
// auto without users, or false; and on console.listen when set.
func TestServeMountsConsole(t *testing.T) {
	tests := []struct {
		name      string
		enabled   string
		user      bool
		ownListen bool
		want      int // GET /console/login on the FHIR listener
	}{
		{"auto without users", "auto", false, false, 404},
		{"auto with a user", "auto", true, false, 200},
		{"true without users", "true", false, false, 200},
		{"false with a user", "false", true, false, 404},
		{"own listener", "auto", true, true, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			env := []string{"FHIRBRIDGE_DATA_DIR=" + dir, "FHIRBRIDGE_SERVER__LISTEN=127.0.0.1:0", "FHIRBRIDGE_CONSOLE__ENABLED=" + tt.enabled}
			if tt.ownListen {
				env = append(env, "FHIRBRIDGE_CONSOLE__LISTEN=127.0.0.1:0")
			}
			c, err := config.Load("", env)
			if err != nil {
				t.Fatal(err)
			}
			if tt.user {
				st, err := store.Open(context.Background(), filepath.Join(dir, "fhirbridge.db"))
				if err != nil {
					t.Fatal(err)
				}
				if err := console.AddUser(context.Background(), st, "ops", console.RoleAdmin, "ops-password", console.Params{Time: 1, Memory: 1024, Threads: 1}, time.Now()); err != nil {
					t.Fatal(err)
				}
				st.Close()
			}
			ctx, cancel := context.WithCancel(context.Background())
			addr, done, err := Start(ctx, c, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { cancel(); <-done }()
			if got := status(t, "http://"+addr+"/console/login"); got != tt.want {
				t.Errorf("GET /console/login on the FHIR listener: %d, want %d", got, tt.want)
			}
			if got := status(t, "http://"+addr+"/fhir/metadata"); got != 200 {
				t.Errorf("GET /fhir/metadata beside the console: %d", got)
			}
		})
	}
}

// TestStartConsoleOwnListener serves the console on console.listen.
func TestStartConsoleOwnListener(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := config.Load("", []string{"FHIRBRIDGE_CONSOLE__ENABLED=true", "FHIRBRIDGE_CONSOLE__LISTEN=127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	var bg []func(context.Context)
	mux := http.NewServeMux()
	addr, stop, err := startConsole(ctx, c, st, console.Ops{}, slog.New(slog.DiscardHandler), mux, func(fn func(context.Context)) { bg = append(bg, fn) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop(ctx)
	if addr == "" || len(bg) != 1 {
		t.Fatalf("addr %q, %d background tasks", addr, len(bg))
	}
	for path, want := range map[string]int{"/console/login": 200, "/": 303, "/metadata": 404} {
		if got := status(t, "http://"+addr+path); got != want {
			t.Errorf("GET %s on console.listen: %d, want %d", path, got, want)
		}
	}
}
