package solo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func TestProbe(t *testing.T) {
	const canary = "CANARY-solo-key-5521"
	cases := []struct {
		name   string
		rooms  []string
		key    string
		fault  solosim.Fault
		closed bool // the server is stopped before the probe
		ok     bool
		want   string
		class  connectors.Class
		status int // the *StatusError's status, 0 when none
	}{
		{name: "ok", ok: true, rooms: []string{"A", "B", "C"}, want: "GET /qapi/v1/waiting-rooms: 3 rooms"},
		{name: "ok one room", ok: true, rooms: []string{"A"}, want: "GET /qapi/v1/waiting-rooms: 1 room"},
		{name: "wrong key", key: canary, want: "GET /qapi/v1/waiting-rooms: HTTP 401: the Api-Key was refused", class: connectors.Reconnect, status: 401},
		{name: "403", fault: solosim.Fault{Status: 403}, want: "HTTP 403: the Api-Key may not list", class: connectors.Reconnect, status: 403},
		{name: "503", fault: solosim.Fault{Status: 503}, want: "HTTP 503: Solo is unavailable", class: connectors.Transient, status: 503},
		{name: "reset", fault: solosim.Fault{Reset: true}, want: "cannot reach Solo: ", class: connectors.Transient},
		{name: "slow", fault: solosim.Fault{Status: 200, Delay: 2 * time.Second}, want: "cannot reach Solo: no answer before the timeout", class: connectors.Transient},
		{name: "stopped server", closed: true, want: "cannot reach Solo: dial tcp 127.0.0.1:", class: connectors.Transient},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim := solosim.New(solosim.Options{WaitingRooms: c.rooms})
			srv := httptest.NewServer(sim)
			t.Cleanup(func() { _ = sim.Close(); srv.Close() })
			if c.fault != (solosim.Fault{}) {
				c.fault.Path = checkPath
				sim.Inject(c.fault)
			}
			key := Secret(solosim.DefaultAPIKey)
			if c.key != "" {
				key = Secret(c.key)
			}
			conn := mustNew(t, Config{BaseURL: srv.URL, APIKey: key, Timeout: 500 * time.Millisecond})
			if c.closed {
				srv.Close()
			}
			got, err := conn.Probe(context.Background())
			if c.ok {
				if err != nil || got != c.want {
					t.Fatalf("Probe = %q, %v; want %q", got, err, c.want)
				}
				return
			}
			var pe *ProbeError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Probe error %v, want a *ProbeError with %q", err, c.want)
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), srv.URL) {
				t.Errorf("the reason shows the key or the URL: %v", err)
			}
			if class, _ := connectors.Classify(err); class != c.class {
				t.Errorf("class %v, want %v", class, c.class)
			}
			var se *StatusError
			if errors.As(err, &se) != (c.status != 0) || c.status != 0 && se.Status != c.status {
				t.Errorf("StatusError %v, want status %d", se, c.status)
			}
			// Check (the connectors.Checker contract) agrees on the class
			if class, _ := connectors.Classify(conn.Check(context.Background())); class != c.class {
				t.Errorf("Check class %v, want %v", class, c.class)
			}
		})
	}
}

func TestProbeNotAList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`<html>login</html>`))
	}))
	defer srv.Close()
	_, err := mustNew(t, Config{BaseURL: srv.URL, APIKey: "k"}).Probe(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a list of waiting rooms") {
		t.Fatalf("Probe error %v", err)
	}
	if class, _ := connectors.Classify(err); class != connectors.Permanent {
		t.Errorf("class %v, want permanent", class)
	}
}
