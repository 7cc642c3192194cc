package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestJSONLogsFollowRequestID posts a Bundle with an X-Request-Id to serve
// logging JSON and follows that id from the POST's line to the delivery
// attempts' lines with Solo's answer; every line is one JSON object with
// time, level and msg, and none carries a patient value.
func TestJSONLogsFollowRequestID(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-test", WaitingRooms: []string{"General Practice", "Telehealth"}})
	b := startBridgeLog(t, sim, "connectors:\n  $SOLO\n"+soloRoutes, "json")
	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	const rid = "req-follow-42"
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
	if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != rid {
		t.Fatalf("status %d, X-Request-Id %q; want 200 and %q", resp.StatusCode, resp.Header.Get("X-Request-Id"), rid)
	}
	b.Wait("1 patient and 2 appointments at Solo", func() bool { return len(sim.Patients()) == 1 && len(sim.Appointments()) == 2 })
	vendorIDs := map[string]bool{}
	for _, a := range sim.Appointments() {
		vendorIDs[jsonNumber(a.SAID)] = true
	}
	b.Wait("the delivery attempts' log lines", func() bool { return strings.Count(b.Log(), `"msg":"delivery attempt"`) >= 3 })
	b.Stop()

	var post, attempts int
	for i, line := range strings.Split(strings.TrimSuffix(b.Log(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := m[k]; !ok {
				t.Errorf("line %d lacks %s: %s", i+1, k, line)
			}
		}
		switch {
		case m["msg"] == "request" && m["method"] == "POST" && m["path"] == "/fhir":
			post++
			if m["request_id"] != rid || m["status"] != float64(200) {
				t.Errorf("the POST's line: %s", line)
			}
		case m["msg"] == "delivery attempt":
			attempts++
			if m["request_id"] != rid || m["vendor"] != "solo" || m["outcome"] != "delivered" || m["attempt"] != float64(1) {
				t.Errorf("a delivery attempt's line: %s", line)
			}
			if f, _ := m["flow"].(string); !strings.HasPrefix(f, "solo-") {
				t.Errorf("flow %v: %s", m["flow"], line)
			}
			if _, ok := m["job"].(float64); !ok {
				t.Errorf("no job id: %s", line)
			}
			if m["flow"] == "solo-appointments" && !vendorIDs[jsonNumber(m["vendor_id"])] {
				t.Errorf("vendor_id %v is not one of Solo's appointment ids %v: %s", m["vendor_id"], vendorIDs, line)
			}
		}
	}
	if post != 1 || attempts != 3 {
		t.Errorf("%d POST lines and %d delivery attempt lines, want 1 and 3:\n%s", post, attempts, b.Log())
	}
	b.NoCanary("Ejemplo", "Lucía", "600 000 001", "lucia.ejemplo", "MRN-DEMO-0001", "k-test")
}

// jsonNumber is v as a decimal string, for comparing ids read from JSON.
func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// TestRequestIDInErrors checks an error's OperationOutcome quotes the
// request id, kept from the request or generated when unusable.
func TestRequestIDInErrors(t *testing.T) {
	b := startBridge(t, "connectors:\n  $SOLO\n"+soloRoutes)
	for _, tc := range []struct{ header, want string }{
		{"req-bad-1", "req-bad-1"},
		{"not a safe id", ""},
		{"", ""},
	} {
		req, _ := http.NewRequest("POST", b.Base+"/fhir", strings.NewReader(`{"resourceType":"Bundle","type":"nonsense"}`))
		req.Header.Set("Content-Type", "application/fhir+json")
		if tc.header != "" {
			req.Header.Set("X-Request-Id", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("X-Request-Id")
		if resp.StatusCode < 400 || id == "" || (tc.want != "" && id != tc.want) || (tc.want == "" && len(id) != 32) {
			t.Errorf("header %q: status %d, X-Request-Id %q", tc.header, resp.StatusCode, id)
		}
		if !strings.Contains(string(body), "(request id: "+id+")") {
			t.Errorf("header %q: the OperationOutcome lacks the request id %q: %s", tc.header, id, body)
		}
		if strings.Contains(string(body), "not a safe id") {
			t.Errorf("an unusable id was echoed: %s", body)
		}
	}
}
