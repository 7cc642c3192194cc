package export

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

// fakeRemote is an in-memory connectors.Remote. fail holds errors the next
// Put calls return, in order (nil entries succeed).
type fakeRemote struct {
	mu     sync.Mutex
	files  map[string][]byte
	fail   []error
	puts   []string // names of successful Puts, in order
	tries  int
	closed bool
}

var _ connectors.Remote = (*fakeRemote)(nil)

func newFakeRemote(fail ...error) *fakeRemote {
	return &fakeRemote{files: map[string][]byte{}, fail: fail}
}

func (f *fakeRemote) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	b, err := io.ReadAll(r)
	if err != nil {
		return 0, err
	}
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		if err != nil {
			return 0, err
		}
	}
	f.files[name] = b
	f.puts = append(f.puts, name)
	return int64(len(b)), nil
}

func (f *fakeRemote) List(ctx context.Context, dir string) ([]connectors.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []connectors.FileInfo
	for n, b := range f.files {
		out = append(out, connectors.FileInfo{Name: n, Size: int64(len(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeRemote) Stat(ctx context.Context, name string) (connectors.FileInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[name]
	if !ok {
		return connectors.FileInfo{}, connectors.Permanently(connectors.ErrNotExist)
	}
	return connectors.FileInfo{Name: name, Size: int64(len(b))}, nil
}

func (f *fakeRemote) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[name]
	if !ok {
		return nil, connectors.Permanently(connectors.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (f *fakeRemote) Move(ctx context.Context, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.files[from]
	if !ok {
		return connectors.Permanently(connectors.ErrNotExist)
	}
	delete(f.files, from)
	f.files[to] = b
	return nil
}

func (f *fakeRemote) Remove(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.files, name)
	return nil
}

func (f *fakeRemote) Close() error { f.closed = true; return nil }

func (f *fakeRemote) names() []string {
	fi, _ := f.List(context.Background(), "")
	var out []string
	for _, x := range fi {
		out = append(out, x.Name)
	}
	return out
}

// fakeClock jumps forward on After instead of sleeping. Past end it
// calls stop (cancelling the test's context) and never fires.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	end   time.Time
	stop  func()
	waits []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	if !c.end.IsZero() && c.now.After(c.end) {
		c.now = c.end
		c.stop()
		return make(chan time.Time)
	}
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// openStore opens a fresh SQLite store with the export tables.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// putResources stores each resource (JSON objects with resourceType and id).
func putResources(t testing.TB, st *store.Store, resources ...*fhir.Value) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx *store.Tx) error {
		for _, r := range resources {
			if _, _, err := tx.PutResource(context.Background(), r.ResourceType(), r.GetString("id"), r.JSON()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// loadFixture stores every entry of fixtures/tuotempo/store.json.
func loadFixture(t testing.TB, st *store.Store) {
	t.Helper()
	b, err := fixtures.Tuotempo.ReadFile("tuotempo/store.json")
	if err != nil {
		t.Fatal(err)
	}
	bundle := mustJSON(t, string(b))
	var res []*fhir.Value
	for _, e := range bundle.Get("entry").Items {
		res = append(res, e.Get("resource"))
	}
	putResources(t, st, res...)
}

func mustJSON(t testing.TB, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mustSpec returns a Spec of the shipped mapping name with params.
func mustSpec(t testing.TB, job, name string, params map[string]string) Spec {
	t.Helper()
	m, err := LoadMapping(name, params)
	if err != nil {
		t.Fatal(err)
	}
	return Spec{Name: job, Mapping: m, Params: params}
}

// ledgerEntries lists the export ledger, oldest first.
func ledgerEntries(t testing.TB, st *store.Store) []ledger.Entry {
	t.Helper()
	es, err := ledger.List(context.Background(), st, ledger.Filter{Direction: ledger.Out})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// madrid is the zone of the tests; exportAt the fixture's export time.
var (
	madrid   = mustZone("Europe/Madrid")
	exportAt = time.Date(2026, 12, 1, 6, 0, 0, 0, madrid)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var errNet = errors.New("connection reset")
