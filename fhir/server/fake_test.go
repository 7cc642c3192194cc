package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeBackend is an in-memory Backend that records what it is asked.
type fakeBackend struct {
	mu        sync.Mutex
	commits   int            // successful commits
	committed []Entry        // entries of successful commits
	store     map[string]int // "Type/id" → version
	bodies    map[string][]byte
	seen      map[string]stored
	matches   map[string]string // If-None-Exist → id
	nextID    int
	commitErr error             // returned by Commit when set
	seenErr   error             // returned by Seen when set
	failEntry int               // with commitErr, fail only batch entries of this index (-1: all)
	lean      bool              // keep no resource bodies (benchmarks)
	deleted   map[string]bool   // "Type/id" whose current version is a deletion
	idents    map[string]string // "Type|system|value" → id (fake_delete_test.go)
}

type stored struct {
	status int
	body   []byte
	hash   string // Request.BodyHash
}

// reused reports whether a request with body hash hash reuses the key of
// s for another body.
func (s stored) reused(hash string) bool { return hash != "" && s.hash != "" && s.hash != hash }

var _ Backend = (*fakeBackend)(nil)

func newFake() *fakeBackend {
	return &fakeBackend{store: map[string]int{}, bodies: map[string][]byte{},
		seen: map[string]stored{}, matches: map[string]string{}, failEntry: -1}
}

func (f *fakeBackend) Commit(_ context.Context, req *Request) (*Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.commitErr != nil && (f.failEntry < 0 || req.Entries[0].Index == f.failEntry) {
		return nil, fmt.Errorf("fake commit: %w", f.commitErr)
	}
	if s, dup := f.seen[req.Key]; dup && req.Key != "" {
		if s.reused(req.BodyHash) {
			return nil, fmt.Errorf("fake commit: %w", ErrKeyReused)
		}
		return nil, fmt.Errorf("fake commit: %w", ErrDuplicate)
	}
	res := &Result{}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, e := range req.Entries {
		er := EntryResult{LastModified: at}
		if e.Method == "DELETE" || e.Condition != nil {
			er, err := f.conditionalEntry(e, at)
			if err != nil {
				return nil, err
			}
			res.Entries = append(res.Entries, er)
			f.committed = append(f.committed, e)
			continue
		}
		switch {
		case e.IfNoneExist != "" && f.matches[e.IfNoneExist] != "":
			er.ID = f.matches[e.IfNoneExist]
			er.Version = f.store[e.Type+"/"+er.ID]
		case e.Method == "PUT":
			er.ID = e.ID
			er.Version = f.store[e.Type+"/"+e.ID] + 1
			er.Created = er.Version == 1
		default:
			f.nextID++
			er.ID = fmt.Sprintf("id%d", f.nextID)
			er.Version, er.Created = 1, true
		}
		if e.IfNoneExist != "" {
			f.matches[e.IfNoneExist] = er.ID
		}
		f.store[e.Type+"/"+er.ID] = er.Version
		f.index(e.Type, er.ID, e.Resource)
		if !f.lean {
			f.bodies[e.Type+"/"+er.ID] = representation(e.Resource, &er).JSON()
		}
		res.Entries = append(res.Entries, er)
		f.committed = append(f.committed, e)
	}
	if req.Key != "" {
		st, body := req.Response(res)
		f.seen[req.Key] = stored{st, body, req.BodyHash}
	}
	f.commits++
	return res, nil
}

func (f *fakeBackend) Read(_ context.Context, typ, id string) ([]byte, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.store[typ+"/"+id]
	if !ok {
		return nil, 0, fmt.Errorf("fake read: %w", ErrNotFound)
	}
	if f.deleted[typ+"/"+id] {
		return nil, 0, fmt.Errorf("fake read: %w", ErrGone)
	}
	return f.bodies[typ+"/"+id], v, nil
}

func (f *fakeBackend) Seen(_ context.Context, key, hash string) (int, []byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seenErr != nil {
		return 0, nil, false, fmt.Errorf("fake seen: %w", f.seenErr)
	}
	s, ok := f.seen[key]
	if ok && s.reused(hash) {
		return 0, nil, false, fmt.Errorf("fake seen: %w", ErrKeyReused)
	}
	return s.status, s.body, ok, nil
}

func (f *fakeBackend) Ready(context.Context) error { return nil }

func (f *fakeBackend) commitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commits
}

// env is a handler under test with its fake backend, log and metrics.
type env struct {
	h   http.Handler
	fb  *fakeBackend
	log *syncBuffer
	reg *prometheus.Registry
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t testing.TB, opt Options) *env {
	t.Helper()
	e := &env{fb: newFake(), log: &syncBuffer{}, reg: prometheus.NewRegistry()}
	opt.Logger = loggerTo(e.log)
	opt.Registry = e.reg
	e.h = New(e.fb, opt)
	return e
}

// do sends one request; headers are "Name: value" strings.
func (e *env) do(method, path string, body io.Reader, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, body)
	if body != nil {
		r.Header.Set("Content-Type", "application/fhir+json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// post sends a JSON body.
func (e *env) post(path, body string, headers ...string) *httptest.ResponseRecorder {
	return e.do("POST", path, strings.NewReader(body), headers...)
}

// metricsText returns the exposition of the registry.
func (e *env) metricsText(t testing.TB) string {
	t.Helper()
	w := e.do("GET", "/metrics", nil)
	if w.Code != 200 {
		t.Fatalf("/metrics: %d", w.Code)
	}
	return w.Body.String()
}

// rejected returns the count of rejected bodies with reason.
func (e *env) rejected(reason string) float64 {
	mfs, _ := e.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "fhirbridge_http_bodies_rejected_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// loggerTo returns a debug-level JSON logger writing to w.
func loggerTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
