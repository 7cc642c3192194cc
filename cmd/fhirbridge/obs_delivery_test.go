package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestDeliveryObservability follows one posted Bundle (X-Request-Id, a
// Bundle.identifier) through serve logging JSON with an in-memory span
// recorder to Solo: each call to Solo is a client span under its delivery
// attempt's span and carries that span to Solo as traceparent, in the
// POST's trace; every log line of the deliveries names the request id and
// the trace; the lines about the Bundle carry its bundle hash; neither the
// identifier value nor any patient value is in the log, a span name or a
// span attribute.
func TestDeliveryObservability(t *testing.T) {
	rec := recordSpans(t)

	sim := solosim.New(solosim.Options{APIKey: "k-test", WaitingRooms: []string{"General Practice", "Telehealth"}})
	var mu sync.Mutex
	var sent []string // traceparent of each call to Solo, "" when none
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, r.Header.Get("Traceparent"))
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(vendor.Close)
	b := startBridgeLog(t, sim, "connectors:\n  solo: {base_url: \""+vendor.URL+"\", api_key: {env: BRIDGE_SOLO_KEY}}\n"+soloRoutes, "json")

	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	const ident = "urn:uuid:0d1f2a8e-demo-4b7e-9c11-000000000001"
	if !strings.Contains(bundle, `"value": "`+ident+`"`) {
		t.Fatalf("the fixture's Bundle.identifier is not %s", ident)
	}
	sum := sha256.Sum256([]byte("urn:ietf:rfc:3986|" + ident))
	tag := hex.EncodeToString(sum[:6])
	const rid = "req-obsdel-7"
	req, err := http.NewRequest("POST", b.Base+"/fhir", strings.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("X-Request-Id", rid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
	b.Wait("3 delivered attempts", func() bool { return deliveredAttempts(rec, "") == 3 })
	b.Stop()

	// The span tree: client spans under the attempts, in the POST's trace.
	spans := rec.Ended()
	byID, root := spanTree(t, spans, "POST /fhir")
	traceID := root.SpanContext().TraceID()
	clients := map[string]sdktrace.ReadOnlySpan{} // by span id
	canaries := []string{ident, "0d1f2a8e", "Ejemplo", "Lucía", "600 000 001", "lucia.ejemplo", "MRN-DEMO-0001", "k-test"}
	for _, s := range spans {
		for _, c := range canaries {
			if strings.Contains(s.Name(), c) {
				t.Errorf("span name %q carries %q", s.Name(), c)
			}
			for _, kv := range s.Attributes() {
				if strings.Contains(kv.Value.Emit(), c) {
					t.Errorf("span %q attribute %s carries %q", s.Name(), kv.Key, c)
				}
			}
		}
		if s.SpanKind() != trace.SpanKindClient || strings.HasPrefix(s.Name(), "deliver ") {
			continue
		}
		clients[s.SpanContext().SpanID().String()] = s
		parent, ok := byID[s.Parent().SpanID()]
		if !ok || !strings.HasPrefix(parent.Name(), "deliver ") {
			t.Errorf("client span %q is not a child of a delivery attempt span", s.Name())
		}
		if s.SpanContext().TraceID() != traceID {
			t.Errorf("client span %q in another trace", s.Name())
		}
		if strings.ContainsAny(strings.ReplaceAll(s.Name(), "/v1/", "/"), "?0123456789") {
			t.Errorf("client span name %q holds a query or an id", s.Name())
		}
		if attrInt(s, "http.response.status_code") < 200 {
			t.Errorf("client span %q has no status: %v", s.Name(), s.Attributes())
		}
	}
	if len(clients) < 3 {
		t.Fatalf("%d client spans, want at least one per delivered attempt (3)", len(clients))
	}
	mu.Lock()
	got := append([]string(nil), sent...)
	mu.Unlock()
	carried := map[string]bool{}
	for _, tpHeader := range got {
		if tpHeader == "" {
			continue
		}
		parts := strings.Split(tpHeader, "-")
		if len(parts) != 4 || parts[1] != traceID.String() {
			t.Errorf("Solo got traceparent %q, not in the POST's trace %s", tpHeader, traceID)
			continue
		}
		carried[parts[2]] = true
	}
	for id, s := range clients {
		if !carried[id] {
			t.Errorf("client span %q (%s) was not sent to Solo as traceparent (sent: %v)", s.Name(), id, got)
		}
	}

	// The log: request id and trace on every delivery line, the bundle hash
	// on the server's lines about the Bundle.
	var deliveryLines, bundleLines int
	for i, line := range strings.Split(strings.TrimSuffix(b.Log(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		if _, ok := m["job"]; ok {
			deliveryLines++
			if m["request_id"] != rid || m["trace_id"] != traceID.String() {
				t.Errorf("a delivery line lacks the request id %s or trace %s: %s", rid, traceID, line)
			}
			for _, k := range []string{"flow", "vendor", "attempt"} {
				if _, ok := m[k]; !ok {
					t.Errorf("a delivery line lacks %s: %s", k, line)
				}
			}
		}
		if m["msg"] == "request" && m["route"] != nil && m["method"] == "POST" {
			bundleLines++
			if m["bundle"] != tag || m["request_id"] != rid {
				t.Errorf("the server's line of the POST lacks bundle %s or request id: %s", tag, line)
			}
		}
	}
	if deliveryLines < 3 || bundleLines != 1 {
		t.Errorf("%d delivery lines and %d server lines of the POST, want >= 3 and 1:\n%s", deliveryLines, bundleLines, b.Log())
	}
	b.NoCanary(canaries...)
}
