package delivery

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

const canary = "Canaryson"

func patientJSON(id string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,
	 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"value":"MRN-%s"}],
	 "name":[{"use":"official","family":%q,"given":["Tweety"]}],
	 "gender":"male","birthDate":"1983-08-15"}`, id, id, canary)
}

func apptJSON(id, patient string) string {
	return fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"booked",
	 "start":"2026-12-01T08:30:00Z","end":"2026-12-01T08:45:00Z",
	 "participant":[{"actor":{"reference":"Patient/%s"},"status":"accepted"}]}`, id, patient)
}

// env is a store, a Solo simulator behind httptest and a runner wired to both.
type env struct {
	t      *testing.T
	url    string
	st     *store.Store
	flows  map[string]Flow
	sim    *solosim.Sim
	r      *Runner
	logs   *syncBuf
	cancel context.CancelFunc
	done   chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func load(t *testing.T, name string, params map[string]string) *mapping.Mapping {
	t.Helper()
	p, _ := shipped.Path(name)
	m, err := mapping.Load(shipped.FS, p, params)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storeURL names a fresh, empty store for t: an SQLite file, or a new
// PostgreSQL database while TestPostgres runs the suite.
var storeURL = func(t *testing.T) string { return filepath.Join(t.TempDir(), "fhirbridge.db") }

// newEnv builds the pieces; connector timeout is short for the timeout test.
func newEnv(t *testing.T, opt Options) *env {
	t.Helper()
	ctx := context.Background()
	url := storeURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { _ = sim.Close(); srv.Close() })
	c, err := solo.New(solo.Config{BaseURL: srv.URL, APIKey: solosim.DefaultAPIKey, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	flows := map[string]Flow{
		solo.FlowPatient: {Mapping: load(t, "solo/patient", nil), Connector: c, Vendor: "solo"},
		solo.FlowAppointment: {Mapping: load(t, "solo/appointment", map[string]string{"waiting_room": "Default Waiting Room Name 1"}),
			Connector: c, Vendor: "solo", Parent: "Patient"},
	}
	logs := &syncBuf{}
	opt.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opt.PollInterval == 0 {
		opt.PollInterval = 5 * time.Millisecond
	}
	if opt.BackoffBase == 0 {
		opt.BackoffBase, opt.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
	}
	r, err := NewRunner(ctx, st, flows, opt)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: url, st: st, flows: flows, sim: sim, r: r, logs: logs}
	t.Cleanup(func() {
		e.stop()
		if strings.Contains(logs.String(), canary) || strings.Contains(logs.String(), "555-0100") {
			t.Errorf("patient value in the runner's log:\n%s", logs.String())
		}
	})
	return e
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.r.Run(ctx) }()
}

func (e *env) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

// put stores body as typ/id and enqueues it on flow in one transaction.
func (e *env) put(flow, typ, id, body string) int {
	e.t.Helper()
	var v int
	err := e.st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		if v, _, err = tx.PutResource(context.Background(), typ, id, []byte(body)); err != nil {
			return err
		}
		return Enqueue(context.Background(), tx, Job{Flow: flow, ResourceType: typ, ResourceID: id, Version: v})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// jobs lists the jobs in state ("" all).
func (e *env) jobs(state State) []JobInfo {
	e.t.Helper()
	js, err := e.r.Queue().List(context.Background(), Filter{State: state})
	if err != nil {
		e.t.Fatal(err)
	}
	return js
}

// waitFor polls cond for up to 10 s.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; jobs: %+v", what, e.jobs(""))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// requests returns the simulator's log entries with method and a path prefix.
func (e *env) requests(method, pathPrefix string) []solosim.Request {
	var out []solosim.Request
	for _, r := range e.sim.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}
