package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/prometheus/client_golang/prometheus"
)

// reusedCanary stands in for a Bundle.identifier value: a message id,
// which some engines build from record numbers, so it is never echoed.
const reusedCanary = "CANARY-MSG-4711"

// messageBundle is a transaction Bundle with Bundle.identifier
// urn:oid:1.2.3|reusedCanary that PUTs Patient/id with gender g.
func messageBundle(id, g string) string {
	return `{"resourceType":"Bundle","type":"transaction","identifier":{"system":"urn:oid:1.2.3","value":"` + reusedCanary + `"},
"entry":[{"resource":{"resourceType":"Patient","id":"` + id + `","gender":"` + g + `"},"request":{"method":"PUT","url":"Patient/` + id + `"}}]}`
}

// TestReusedIdentifierHTTP: over HTTP, on the real store, the same
// Bundle.identifier with the same Bundle replays the stored response, and
// with a different Bundle gets a 409 OperationOutcome naming the
// identifier's system but not its value; nothing of the second Bundle is
// stored or routed, and the conflict is counted.
func TestReusedIdentifierHTTP(t *testing.T) {
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &routed{}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(server.New(&Backend{Store: st, Router: r}, server.Options{Registry: reg}))
	t.Cleanup(srv.Close)
	conflicts := func() float64 {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == "fhirbridge_ingest_identifier_conflicts_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return 0
	}

	first := messageBundle("p1", "female")
	code1, resp1 := post(t, srv.URL+"/fhir", first)
	if code1 != 200 || len(r.seen) != 1 {
		t.Fatalf("first: status %d, routed %v", code1, r.seen)
	}
	steps := []struct {
		name      string
		body      string
		code      int
		routed    int
		conflicts float64
	}{
		{"same identifier, same Bundle", first, 200, 1, 0},
		{"same identifier, same Bundle reformatted", strings.ReplaceAll(first, ",", " ,\n "), 200, 1, 0},
		{"same identifier, other resource", messageBundle("p2", "female"), 409, 1, 1},
		{"same identifier, other value", messageBundle("p1", "male"), 409, 1, 2},
	}
	for _, s := range steps {
		code, resp := post(t, srv.URL+"/fhir", s.body)
		out, _ := json.Marshal(resp)
		if code != s.code || len(r.seen) != s.routed || conflicts() != s.conflicts {
			t.Errorf("%s: status %d, routed %d, conflicts %v; want %d, %d, %v: %s",
				s.name, code, len(r.seen), conflicts(), s.code, s.routed, s.conflicts, out)
		}
		if code == 200 {
			a, _ := json.Marshal(resp1)
			if string(a) != string(out) {
				t.Errorf("%s: not the stored response:\n%s\n%s", s.name, a, out)
			}
			continue
		}
		if resp["resourceType"] != "OperationOutcome" || !strings.Contains(string(out), "urn:oid:1.2.3") ||
			!strings.Contains(string(out), "Bundle.identifier") || strings.Contains(string(out), "CANARY") {
			t.Errorf("%s: outcome %s", s.name, out)
		}
	}
	if _, _, err := st.GetResource(context.Background(), "Patient", "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Patient/p2 of a refused Bundle: %v, want not stored", err)
	}
	if body, v, err := st.GetResource(context.Background(), "Patient", "p1"); err != nil || v != 1 || !strings.Contains(string(body), "female") {
		t.Errorf("Patient/p1 = v%d %s (%v), want the first version unchanged", v, body, err)
	}
}

// TestCommitReusedKey: the authoritative check inside the commit (a
// concurrent twin stored the key between the endpoint's lookup and the
// commit) refuses a different body with server.ErrKeyReused and rolls the
// whole request back, resources and deliveries alike.
func TestCommitReusedKey(t *testing.T) {
	_, st, r := newBridge(t)
	b := &Backend{Store: st, Router: r}
	ctx := context.Background()
	req := func(id, hash string) *server.Request {
		v, err := fhir.Decode([]byte(`{"resourceType":"Patient","id":"`+id+`"}`), fhir.DecodeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return &server.Request{Key: "identifier:urn:oid:1.2.3|" + reusedCanary, BodyHash: hash, Kind: server.KindTransaction,
			Entries:  []server.Entry{{Method: "PUT", Type: "Patient", ID: id, Resource: v}},
			Response: func(*server.Result) (int, []byte) { return 200, []byte(`{}`) }}
	}
	if _, err := b.Commit(ctx, req("c1", "hash-1")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   string
		hash string
		want error
	}{
		{"same body", "c2", "hash-1", server.ErrDuplicate},
		{"other body", "c3", "hash-2", server.ErrKeyReused},
	}
	for _, tt := range tests {
		_, err := b.Commit(ctx, req(tt.id, tt.hash))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Commit = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "CANARY") {
			t.Errorf("%s: error quotes the identifier value: %v", tt.name, err)
		}
		if _, _, err := st.GetResource(ctx, "Patient", tt.id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Patient/%s stored (%v)", tt.name, tt.id, err)
		}
	}
	// The test Router records calls in memory, outside the transaction;
	// a real one queues jobs in it, so the stored rows are what count.
	var rows int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM resources`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d resource rows (%v), want the first request's only", rows, err)
	}
}

// TestLegacyRequestRowReplays: a request stored before body hashes were
// kept (body_hash NULL) is replayed for any Bundle with its identifier, as
// before the hash existed, rather than refused.
func TestLegacyRequestRowReplays(t *testing.T) {
	srv, st, r := newBridge(t)
	key := "identifier:urn:oid:1.2.3|" + reusedCanary
	if _, err := st.DB().Exec(`INSERT INTO requests (key, status, response, created_at) VALUES (?, ?, ?, ?)`,
		key, 200, []byte(`{"resourceType":"Bundle","type":"transaction-response","entry":[]}`), "2026-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	code, resp := post(t, srv.URL+"/fhir", messageBundle("p9", "female"))
	if code != 200 || resp["type"] != "transaction-response" || len(r.seen) != 0 {
		t.Errorf("legacy row: status %d, %v, routed %v; want the stored response, nothing routed", code, resp, r.seen)
	}
}
