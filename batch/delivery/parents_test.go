package delivery

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// recorder is a connector that answers every delivery with the resource id
// as the vendor id and records what it was handed.
type recorder struct {
	mu     sync.Mutex
	got    []connectors.Delivery
	logger *slog.Logger
}

func (c *recorder) Deliver(_ context.Context, d connectors.Delivery) (connectors.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, d)
	return connectors.Result{VendorID: "v-" + d.ResourceID}, nil
}

func (c *recorder) SetCallLogger(l *slog.Logger) { c.logger = l }

func (c *recorder) order() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.got {
		out = append(out, d.ResourceType)
	}
	return out
}

func idMapping(t *testing.T, typ string) *mapping.Mapping {
	t.Helper()
	fsys := fstest.MapFS{"m.yaml": {Data: []byte("name: test/" + strings.ToLower(typ) +
		"\nversion: 1\nsource: " + typ + "\noutput: json\nfields:\n  - {target: id, from: id}\n")}}
	m, err := mapping.Load(fsys, "m.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSeveralParents: a flow with Parents waits until every parent type it
// references has a vendor id, and then gets them all in Delivery.Parents;
// Parent alone keeps filling Delivery.Parent.
func TestSeveralParents(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &recorder{}
	flows := map[string]Flow{
		"pr":  {Mapping: idMapping(t, "Practitioner"), Connector: c, Vendor: "x"},
		"loc": {Mapping: idMapping(t, "Location"), Connector: c, Vendor: "x"},
		"enc": {Mapping: idMapping(t, "Encounter"), Connector: c, Vendor: "x", Parent: "Practitioner", Parents: []string{"Practitioner", "Location"}},
	}
	r, err := NewRunner(ctx, st, flows, Options{PollInterval: 5 * time.Millisecond, BackoffBase: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if c.logger == nil {
		t.Fatal("NewRunner did not hand its logger to a CallLogger connector")
	}
	e := &env{t: t, st: st, r: r}
	e.put("enc", "Encounter", "e1", `{"resourceType":"Encounter","id":"e1","status":"planned","class":{"code":"VR"},
	  "participant":[{"individual":{"reference":"Practitioner/p1"}}],"location":[{"location":{"reference":"Location/l1"}}]}`)
	e.start()
	defer e.stop()
	e.waitFor("the visit waiting for its practitioner", func() bool {
		js := e.jobs(StatePending)
		return len(js) == 1 && strings.Contains(js[0].LastError, "waiting for Practitioner/p1")
	})
	e.put("pr", "Practitioner", "p1", `{"resourceType":"Practitioner","id":"p1"}`)
	e.waitFor("the visit waiting for its location", func() bool {
		js := e.jobs(StatePending)
		return len(js) == 1 && strings.Contains(js[0].LastError, "waiting for Location/l1")
	})
	e.put("loc", "Location", "l1", `{"resourceType":"Location","id":"l1"}`)
	e.waitFor("all delivered", func() bool { return len(e.jobs(StateDelivered)) == 3 })
	if got := strings.Join(c.order(), ","); got != "Practitioner,Location,Encounter" {
		t.Fatalf("order = %s", got)
	}
	d := c.got[2]
	if d.Parent != "v-p1" || d.Parents["Practitioner"] != "v-p1" || d.Parents["Location"] != "v-l1" || len(d.Parents) != 2 {
		t.Fatalf("parent %q, parents %v", d.Parent, d.Parents)
	}
	for _, j := range e.jobs("") {
		if j.Attempts != 1 {
			t.Errorf("%s attempts = %d, want 1 (waiting spends none)", j.ResourceType, j.Attempts)
		}
	}
}

func TestParentRefPlaces(t *testing.T) {
	for _, tc := range []struct{ json, typ, want, path string }{
		{`{"participant":[{"actor":{"reference":"Patient/a"}}]}`, "Patient", "a", "participant[0].actor"},
		{`{"participant":[{"actor":{"reference":"Practitioner/x"}},{"individual":{"reference":"Practitioner/b"}}]}`, "Practitioner", "x", "participant[0].actor"},
		{`{"participant":[{"actor":{"reference":"Location/x"}},{"individual":{"reference":"Practitioner/b"}}]}`, "Practitioner", "b", "participant[1].individual"},
		{`{"location":[{"location":{"reference":"Location/c"}}]}`, "Location", "c", "location[0].location"},
		{`{"location":{"reference":"Location/d"}}`, "Location", "d", "location"},
		{`{"subject":{"reference":"Patient/e"}}`, "Location", "", ""},
	} {
		v := mustDecode(t, tc.json)
		if got, path := parentRef(v, tc.typ); got != tc.want || path != tc.path {
			t.Errorf("parentRef(%s, %s) = %q at %q, want %q at %q", tc.json, tc.typ, got, path, tc.want, tc.path)
		}
	}
}

func mustDecode(t *testing.T, s string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
