package ehrpush

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// secret is a patient value: it must never reach an error or the table.
const secret = "Jane Q. Patient"

// answer is one reply of the fake EHR.
type answer struct {
	status     int
	retryAfter string
}

// fakeEHR answers PUTs from a script (200 once it runs out), quoting the
// request body in every error answer as some servers do, and records the
// requests.
type fakeEHR struct {
	mu     sync.Mutex
	script []answer
	reqs   []request
	hook   func() // called during each request, before answering
}

type request struct {
	method, path, auth, ctype string
	body                      map[string]any
}

func (f *fakeEHR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, request{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	a := answer{status: 200}
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	if a.status/100 != 2 {
		io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"diagnostics":"bad: `+string(b)+`"}]}`)
	}
}

// env is one store, fake EHR and clock.
type env struct {
	t    *testing.T
	dir  string
	st   *store.Store
	ehr  *fakeEHR
	now  time.Time
	cfg  Config
	push *Pusher
}

func newEnv(t *testing.T, cfg Config, script ...answer) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), ehr: &fakeEHR{script: script}, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	hs := httptest.NewServer(e.ehr)
	t.Cleanup(hs.Close)
	if cfg.Queue == "" {
		cfg.Queue = "test"
	}
	cfg.Endpoint = Endpoint{BaseURL: hs.URL + "/fhir/", Token: "ehr-token", Client: hs.Client()}
	cfg.Now = func() time.Time { return e.now }
	e.cfg = cfg
	e.open()
	return e
}

// open opens the store and a Pusher: a (re)started bridge.
func (e *env) open() {
	e.t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(e.dir, "fhirbridge.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	e.st = st
	if e.push, err = New(st, e.cfg); err != nil {
		e.t.Fatal(err)
	}
}

// put stores a Patient version and queues it on p, in one transaction.
func (e *env) put(p *Pusher, id, family string) int {
	e.t.Helper()
	body := `{"resourceType":"Patient","id":"` + id + `","meta":{"versionId":"9","lastUpdated":"2026-01-01T00:00:00Z","source":"x"},"name":[{"family":"` + family + `"}]}`
	var version int
	err := e.st.InTx(context.Background(), func(tx *store.Tx) error {
		v, _, err := tx.PutResource(context.Background(), "Patient", id, []byte(body))
		if err != nil {
			return err
		}
		version = v
		return p.Queue(context.Background(), tx, "Patient", id, v)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return version
}

func (e *env) run() []Result {
	e.t.Helper()
	res, err := e.push.Push(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) rows() []Row {
	e.t.Helper()
	rows, err := e.push.Rows(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// step is one Push after advancing the clock, and what it must give.
type step struct {
	advance time.Duration
	want    []Result // Type, ID, Status, Attempts, Dead and whether Err is set (a non-nil Err means "some error")
}

var errAny = errors.New("any error")

func TestPush(t *testing.T) {
	ok := func(status, attempts int) Result {
		return Result{Type: "Patient", ID: "p1", Version: 1, Status: status, Attempts: attempts}
	}
	failed := func(status, attempts int, dead bool) Result {
		r := ok(status, attempts)
		r.Dead, r.Err = dead, errAny
		return r
	}
	tests := []struct {
		name     string
		cfg      Config
		script   []answer
		steps    []step
		requests int
		left     []Row // Type, ID, Attempts, LastStatus, Dead of the rows left
		class    connectors.Class
	}{
		{name: "success", steps: []step{{0, []Result{ok(200, 1)}}, {time.Hour, nil}}, requests: 1},
		{name: "503 then retried", script: []answer{{status: 503}},
			steps:    []step{{0, []Result{failed(503, 1, false)}}, {29 * time.Second, nil}, {time.Second, []Result{ok(200, 2)}}},
			requests: 2},
		{name: "backoff doubles", script: []answer{{status: 500}, {status: 502}},
			steps: []step{{0, []Result{failed(500, 1, false)}}, {30 * time.Second, []Result{failed(502, 2, false)}},
				{59 * time.Second, nil}, {time.Second, []Result{ok(200, 3)}}},
			requests: 3},
		{name: "429 honours Retry-After", script: []answer{{status: 429, retryAfter: "120"}},
			steps:    []step{{0, []Result{failed(429, 1, false)}}, {time.Minute, nil}, {time.Minute, []Result{ok(200, 2)}}},
			requests: 2},
		{name: "408 is retried", script: []answer{{status: 408}},
			steps: []step{{0, []Result{failed(408, 1, false)}}, {30 * time.Second, []Result{ok(200, 2)}}}, requests: 2},
		{name: "401 dead at once", script: []answer{{status: 401}},
			steps:    []step{{0, []Result{failed(401, 1, true)}}, {24 * time.Hour, nil}},
			requests: 1, left: []Row{{Type: "Patient", ID: "p1", Version: 1, Attempts: 1, LastStatus: 401, Dead: true}}, class: connectors.Permanent},
		{name: "422 dead at once", script: []answer{{status: 422}},
			steps:    []step{{0, []Result{failed(422, 1, true)}}, {24 * time.Hour, nil}},
			requests: 1, left: []Row{{Type: "Patient", ID: "p1", Version: 1, Attempts: 1, LastStatus: 422, Dead: true}}, class: connectors.Permanent},
		{name: "dead after MaxAttempts", cfg: Config{MaxAttempts: 2}, script: []answer{{status: 503}, {status: 503}},
			steps:    []step{{0, []Result{failed(503, 1, false)}}, {30 * time.Second, []Result{failed(503, 2, true)}}, {24 * time.Hour, nil}},
			requests: 2, left: []Row{{Type: "Patient", ID: "p1", Version: 1, Attempts: 2, LastStatus: 503, Dead: true}}, class: connectors.Transient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.cfg, tc.script...)
			e.put(e.push, "p1", secret)
			var last []Result
			for i, s := range tc.steps {
				e.now = e.now.Add(s.advance)
				got := e.run()
				if len(got) != len(s.want) {
					t.Fatalf("step %d: %d results %+v, want %d", i, len(got), got, len(s.want))
				}
				for j, w := range s.want {
					g := got[j]
					if g.Type != w.Type || g.ID != w.ID || g.Version != w.Version || g.Status != w.Status ||
						g.Attempts != w.Attempts || g.Dead != w.Dead || (g.Err != nil) != (w.Err != nil) {
						t.Errorf("step %d: result %+v, want %+v", i, g, w)
					}
					if g.Err != nil {
						last = got
						if strings.Contains(g.Err.Error(), "Jane") || strings.Contains(g.Err.Error(), "OperationOutcome") {
							t.Errorf("step %d: the EHR's answer leaked into the error: %v", i, g.Err)
						}
					}
				}
			}
			if tc.class != 0 || len(tc.left) > 0 {
				if c, _ := connectors.Classify(last[len(last)-1].Err); c != tc.class {
					t.Errorf("class %v, want %v", c, tc.class)
				}
			}
			rows := e.rows()
			if len(rows) != len(tc.left) {
				t.Fatalf("rows left %+v, want %+v", rows, tc.left)
			}
			for i, w := range tc.left {
				g := rows[i]
				if g.Type != w.Type || g.ID != w.ID || g.Version != w.Version || g.Attempts != w.Attempts || g.LastStatus != w.LastStatus || g.Dead != w.Dead {
					t.Errorf("row %+v, want %+v", g, w)
				}
				if g.LastError == "" || strings.Contains(g.LastError, "Jane") {
					t.Errorf("row error %q", g.LastError)
				}
			}
			if len(e.ehr.reqs) != tc.requests {
				t.Fatalf("%d requests, want %d", len(e.ehr.reqs), tc.requests)
			}
			for _, r := range e.ehr.reqs {
				if r.method != "PUT" || r.path != "/fhir/Patient/p1" || r.auth != "Bearer ehr-token" || r.ctype != "application/fhir+json" {
					t.Errorf("request %+v", r)
				}
				meta, _ := r.body["meta"].(map[string]any)
				if r.body["resourceType"] != "Patient" || r.body["id"] != "p1" || meta["versionId"] != nil || meta["lastUpdated"] != nil || meta["source"] != "x" {
					t.Errorf("body %v", r.body)
				}
			}
		})
	}
}

// TestRestart: the queue is in the store, so a restarted bridge pushes
// what failed before it stopped, once due.
func TestRestart(t *testing.T) {
	e := newEnv(t, Config{}, answer{status: 503})
	e.put(e.push, "p1", secret)
	if res := e.run(); len(res) != 1 || res[0].Err == nil {
		t.Fatalf("first push: %+v", res)
	}
	e.st.Close()
	e.open()
	if res := e.run(); len(res) != 0 {
		t.Fatalf("pushed before the backoff ended: %+v", res)
	}
	e.now = e.now.Add(time.Minute)
	if res := e.run(); len(res) != 1 || res[0].Err != nil || res[0].Attempts != 2 {
		t.Fatalf("after restart: %+v", res)
	}
	if rows := e.rows(); len(rows) != 0 {
		t.Fatalf("rows left: %+v", rows)
	}
}

// TestRequeue: a version queued while the previous one is being pushed is
// pushed again; queueing a dead row makes it due with a fresh count.
func TestRequeue(t *testing.T) {
	e := newEnv(t, Config{}, answer{status: 200}, answer{status: 422})
	e.put(e.push, "p1", "A")
	e.ehr.hook = func() { e.put(e.push, "p1", "B"); e.ehr.hook = nil }
	if res := e.run(); len(res) != 1 || res[0].Err != nil || res[0].Version != 1 {
		t.Fatalf("first push: %+v", res)
	}
	if res := e.run(); len(res) != 1 || res[0].Version != 2 || !res[0].Dead {
		t.Fatalf("second push: %+v", res)
	}
	e.put(e.push, "p1", "C")
	if res := e.run(); len(res) != 1 || res[0].Err != nil || res[0].Version != 3 || res[0].Attempts != 1 {
		t.Fatalf("after requeue: %+v", res)
	}
	if rows := e.rows(); len(rows) != 0 {
		t.Fatalf("rows left: %+v", rows)
	}
}

// TestQueues: a Pusher sees only its own queue; Observe gets every Result.
func TestQueues(t *testing.T) {
	var seen []Result
	e := newEnv(t, Config{Queue: "a", Observe: func(r Result) { seen = append(seen, r) }})
	other, err := New(e.st, Config{Queue: "b", Endpoint: e.cfg.Endpoint, Now: e.cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.put(e.push, "p1", "A")
	e.put(other, "p2", "B")
	if res := e.run(); len(res) != 1 || res[0].ID != "p1" || len(seen) != 1 || seen[0].ID != "p1" {
		t.Fatalf("queue a: %+v, observed %+v", res, seen)
	}
	if rows, _ := other.Rows(context.Background()); len(rows) != 1 || rows[0].ID != "p2" {
		t.Fatalf("queue b: %+v", rows)
	}
}

// TestNotStored: a queued resource that is not in the store is dead at
// once.
func TestNotStored(t *testing.T) {
	e := newEnv(t, Config{})
	err := e.st.InTx(context.Background(), func(tx *store.Tx) error {
		return e.push.Queue(context.Background(), tx, "Patient", "gone", 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.run(); len(res) != 1 || !res[0].Dead || res[0].Err == nil || len(e.ehr.reqs) != 0 {
		t.Fatalf("push: %+v", res)
	}
}

func TestNew(t *testing.T) {
	for _, cfg := range []Config{
		{Endpoint: Endpoint{BaseURL: "https://ehr.example/fhir"}},
		{Queue: "q"},
		{Queue: "q", Endpoint: Endpoint{BaseURL: "ehr.example/fhir"}},
		{Queue: "q", Endpoint: Endpoint{BaseURL: "https://ehr.example"}, MaxAttempts: -1},
	} {
		if _, err := New(nil, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		want     time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {7, 32 * time.Minute}, {8, time.Hour}, {50, time.Hour}} {
		if got := Backoff(tc.attempts); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.attempts, got, tc.want)
		}
	}
}
