package ingest

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

// routed records what the Router was asked to queue.
type routed struct {
	mu   sync.Mutex
	seen []string
}

func (r *routed) Route(_ context.Context, _ *store.Tx, typ, id string, version int, _ *fhir.Value) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, typ+"/"+id)
	return nil
}

func newBridge(t *testing.T) (*httptest.Server, *store.Store, *routed) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &routed{}
	srv := httptest.NewServer(server.New(&Backend{Store: st, Router: r}, server.Options{}))
	t.Cleanup(srv.Close)
	return srv, st, r
}

func post(t *testing.T, url, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

func TestTransactionStoresAndRewritesReferences(t *testing.T) {
	srv, st, r := newBridge(t)
	bundle, err := fs.ReadFile(fixtures.Demo, "demo/appointments.json")
	if err != nil {
		t.Fatal(err)
	}
	code, resp := post(t, srv.URL+"/fhir", string(bundle))
	if code != 200 || resp["type"] != "transaction-response" {
		t.Fatalf("status %d, %v", code, resp["type"])
	}
	if len(r.seen) != 6 {
		t.Errorf("routed %v, want all 6 entries", r.seen)
	}
	// the patient got an id; the appointment's urn:uuid reference now names it
	entries := resp["entry"].([]any)
	loc := entries[0].(map[string]any)["response"].(map[string]any)["location"].(string)
	patientRef := strings.SplitN(strings.TrimPrefix(loc, "Patient/"), "/", 2)[0]
	body, _, err := st.GetResource(context.Background(), "Appointment", "appt-demo-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), `"reference":"Patient/`+patientRef+`"`) || strings.Contains(string(body), "urn:uuid:7a1c0e52-0001") {
		t.Errorf("reference not rewritten to Patient/%s: %s", patientRef, body)
	}
	// the same Bundle again: the first response, nothing routed again
	code2, resp2 := post(t, srv.URL+"/fhir", string(bundle))
	if code2 != 200 || len(r.seen) != 6 {
		t.Errorf("repeat: status %d, routed %d", code2, len(r.seen))
	}
	a, _ := json.Marshal(resp)
	b, _ := json.Marshal(resp2)
	if string(a) != string(b) {
		t.Errorf("a repeated Bundle must get the original response")
	}
}

func TestConcurrentConditionalCreate(t *testing.T) {
	srv, _, r := newBridge(t)
	patient := `{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"M-1"}],"gender":"female"}`
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// distinct bodies so that request idempotency does not mask the race
			body := strings.Replace(patient, `"female"`, `"female","active":true`+strings.Repeat(" ", i), 1)
			codes[i], _ = post(t, srv.URL+"/fhir/Patient", body, "If-None-Exist", "identifier=urn:mrn|M-1")
		}(i)
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case 201:
			created++
		case 200:
		default:
			t.Errorf("status %d", c)
		}
	}
	if created != 1 || len(r.seen) != 1 {
		t.Errorf("%d created, %d routed; want exactly one", created, len(r.seen))
	}
}

func TestInvalidTransactionStoresNothing(t *testing.T) {
	srv, st, r := newBridge(t)
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
{"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":{"resourceType":"Patient","name":[{"family":"CANARY-77"}]},"request":{"method":"POST","url":"Patient"}},
{"resource":{"resourceType":"Appointment","participant":[{"actor":{"reference":"urn:uuid:11111111-1111-4111-8111-111111111111"},"status":"accepted"}]},"request":{"method":"POST","url":"Appointment"}}]}`
	code, resp := post(t, srv.URL+"/fhir", bundle)
	if code != 400 && code != 422 {
		t.Fatalf("status %d", code)
	}
	out, _ := json.Marshal(resp)
	if !strings.Contains(string(out), "Bundle.entry[1]") || strings.Contains(string(out), "CANARY") {
		t.Errorf("outcome %s", out)
	}
	if len(r.seen) != 0 {
		t.Errorf("routed %v for a refused transaction", r.seen)
	}
	if msgs, _ := st.Messages(context.Background(), store.MessageFilter{}); len(msgs) != 0 {
		t.Errorf("stored messages for a refused transaction")
	}
}
