package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// fakeRemote is an in-memory connectors.Remote. failMove makes the next
// Move calls fail (a bridge killed before the remote move).
type fakeRemote struct {
	mu       sync.Mutex
	files    map[string]fakeFile
	clock    *fakeClock
	failMove int
	onOpen   func(name string) // called after Open, unlocked
	moves    []string
}

type fakeFile struct {
	data []byte
	mod  time.Time
}

var _ connectors.Remote = (*fakeRemote)(nil)

func newRemote(c *fakeClock) *fakeRemote {
	return &fakeRemote{files: map[string]fakeFile{}, clock: c}
}

// write creates or replaces a file, stamped with the fake clock.
func (r *fakeRemote) write(name, data string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[name] = fakeFile{data: []byte(data), mod: r.clock.Now()}
}

// append adds to a file, like a vendor uploading slowly.
func (r *fakeRemote) append(name, data string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.files[name]
	r.files[name] = fakeFile{data: append(append([]byte(nil), f.data...), data...), mod: r.clock.Now()}
}

func (r *fakeRemote) has(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.files[name]
	return ok
}

func (r *fakeRemote) content(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.files[name].data)
}

func (r *fakeRemote) Put(_ context.Context, name string, rd io.Reader) (int64, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return 0, err
	}
	r.write(name, string(b))
	return int64(len(b)), nil
}

func (r *fakeRemote) List(_ context.Context, dir string) ([]connectors.FileInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []connectors.FileInfo
	for name, f := range r.files {
		d := path.Dir(name)
		if d == "." {
			d = ""
		}
		if d == dir {
			out = append(out, connectors.FileInfo{Name: name, Size: int64(len(f.data)), ModTime: f.mod})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (r *fakeRemote) Stat(_ context.Context, name string) (connectors.FileInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[name]
	if !ok {
		return connectors.FileInfo{}, fmt.Errorf("stat %s: %w", name, connectors.ErrNotExist)
	}
	return connectors.FileInfo{Name: name, Size: int64(len(f.data)), ModTime: f.mod}, nil
}

func (r *fakeRemote) Open(_ context.Context, name string) (io.ReadCloser, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[name]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", name, connectors.ErrNotExist)
	}
	if r.onOpen != nil {
		defer func() { r.mu.Unlock(); r.onOpen(name); r.mu.Lock() }()
	}
	return io.NopCloser(bytes.NewReader(f.data)), nil
}

func (r *fakeRemote) Move(_ context.Context, from, to string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failMove > 0 {
		r.failMove--
		return errors.New("connection lost")
	}
	f, ok := r.files[from]
	if !ok {
		return fmt.Errorf("move %s: %w", from, connectors.ErrNotExist)
	}
	delete(r.files, from)
	r.files[to] = f
	r.moves = append(r.moves, from+" -> "+to)
	return nil
}

func (r *fakeRemote) Remove(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.files, name)
	return nil
}

func (r *fakeRemote) Close() error { return nil }

// fakeClock is the injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recRouter records what it was asked to route.
type recRouter struct {
	mu    sync.Mutex
	calls []string
}

func (r *recRouter) Route(_ context.Context, _ *store.Tx, typ, id string, version int, res *fhir.Value) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s/%s/_history/%d %s", typ, id, version, res.GetString("status")))
	return nil
}

const header = "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS\n"

func cancellationMapping(t testing.TB) *mapping.Mapping {
	t.Helper()
	p, ok := shipped.Path("tuotempo/cancellation")
	if !ok {
		t.Fatal("no shipped mapping tuotempo/cancellation")
	}
	m, err := mapping.Load(shipped.FS, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// openStore opens a SQLite store in a temporary folder holding booked
// Appointments with the given ids.
func openStore(t testing.TB, dir string, ids ...string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			body := `{"resourceType":"Appointment","id":"` + id + `","status":"booked",` +
				`"extension":[{"url":"http://example.org/other","valueString":"kept"}],` +
				`"participant":[{"actor":{"reference":"Patient/p1"},"status":"accepted"}]}`
			if _, _, err := tx.PutResource(ctx, "Appointment", id, []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// env is one test's bridge: store, remote, clock and a Poller.
type env struct {
	t      testing.TB
	st     *store.Store
	remote *fakeRemote
	clock  *fakeClock
	spec   Spec
	opt    Options
	p      *Poller
}

func newEnv(t testing.TB, spec Spec, opt Options, ids ...string) *env {
	t.Helper()
	c := newClock()
	e := &env{t: t, st: openStore(t, t.TempDir(), ids...), remote: newRemote(c), clock: c}
	if spec.Name == "" {
		spec.Name = "tuotempo-cancellations"
	}
	if spec.Pattern == "" {
		spec.Pattern = "cancellations_*.csv"
	}
	spec.Mapping = cancellationMapping(t)
	opt.Now = c.Now
	opt.TempDir = t.TempDir()
	e.spec, e.opt = spec, opt
	e.p = e.newPoller()
	return e
}

// newPoller is a fresh Poller over the same store: a restarted bridge.
func (e *env) newPoller() *Poller {
	p, err := New(context.Background(), e.st, e.spec, e.opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// poll runs one Poll after advancing the clock by d.
func (e *env) poll(d time.Duration) Report {
	e.t.Helper()
	e.clock.Advance(d)
	rep, err := e.p.Poll(context.Background(), e.remote)
	if err != nil {
		e.t.Fatalf("Poll: %v", err)
	}
	return rep
}

// appointment returns the stored Appointment and its version.
func (e *env) appointment(id string) (*fhir.Value, int) {
	e.t.Helper()
	body, v, err := e.st.GetResource(context.Background(), "Appointment", id)
	if err != nil {
		e.t.Fatal(err)
	}
	val, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return val, v
}

// entries lists the ledger's inbound entries, oldest first.
func (e *env) entries() []ledger.Entry {
	e.t.Helper()
	all, err := ledger.List(context.Background(), e.st, ledger.Filter{Direction: ledger.In})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// note returns the provenance note on an Appointment.
func note(a *fhir.Value) string {
	if ext := a.Get("extension"); ext != nil {
		for _, it := range ext.Items {
			if it.GetString("url") == SourceExtensionURL {
				return it.GetString("valueString")
			}
		}
	}
	return ""
}

func rows(lines ...string) string { return header + strings.Join(lines, "\n") + "\n" }

func itoa(n int) string { return strconv.Itoa(n) }

// setStatus stores a new version of an Appointment with status.
func setStatus(t testing.TB, e *env, id, status string) {
	t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		body := `{"resourceType":"Appointment","id":"` + id + `","status":"` + status + `"}`
		_, _, err := tx.PutResource(ctx, "Appointment", id, []byte(body))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
