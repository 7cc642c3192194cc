package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// searchset is the part of a searchset Bundle the tests read.
type searchset struct {
	ResourceType, Type string
	Total              int
	Entry              []struct {
		FullURL  string
		Resource struct {
			ResourceType, ID, Status, Start, End string
			Schedule                             struct{ Reference string }
		}
	}
}

func TestSoloSlotSearchThroughServe(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-slots", WaitingRooms: []string{"General Practice", "Dermatology"}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	// book 09:30–09:45 in General Practice (room-1) through the Solo API
	for _, call := range []struct{ path, body string }{
		{"/qapi/v1/patients", `{"id":"p1"}`},
		{"/qapi/v1/patients/p1/appointments", `{"date":1714555800,"duration":900,"waitingRoom":"General Practice","externalId":"a1"}`},
	} {
		req, _ := http.NewRequest("POST", simSrv.URL+call.path, strings.NewReader(call.body))
		req.Header.Set("Api-Key", "k-slots")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			t.Fatalf("booking in the sim: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	tok, _ := server.NewToken()
	t.Setenv("SLOTS_SOLO_KEY", "k-slots")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+dir+`
server: {listen: "127.0.0.1:0", tokens: ["sha256:`+string(server.HashToken(tok))+`"]}
connectors:
  solo:
    base_url: "`+simSrv.URL+`"
    api_key: {env: SLOTS_SOLO_KEY}
    slots: {max_window: 48h}
`), 0o600)
	c, err := config.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	var mu sync.Mutex
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/fhir/Slot?"
	hour := "schedule=Schedule/room-1&start=ge2024-05-01T09:00:00Z&start=lt2024-05-01T10:00:00Z"
	tests := []struct {
		name   string
		query  string
		token  string
		strict bool // Prefer: handling=strict
		fault  int
		status int
		starts []string // of the Slots, for 200
		oo     string   // a fragment of the OperationOutcome, for errors
	}{
		{name: "an hour, one slot booked", query: hour, token: tok, status: 200,
			starts: []string{"2024-05-01T09:00:00Z", "2024-05-01T09:15:00Z", "2024-05-01T09:45:00Z"}},
		{name: "the other room, status free, full URL", query: "schedule=" + url.QueryEscape("https://ehr.example/fhir/Schedule/room-2") +
			"&start=ge2024-05-01T09:00:00Z&start=le2024-05-01T09:30:00Z&status=busy," + url.QueryEscape("http://hl7.org/fhir/slotstatus|free"), token: tok, status: 200,
			starts: []string{"2024-05-01T09:00:00Z", "2024-05-01T09:15:00Z", "2024-05-01T09:30:00Z"}},
		{name: "a day as eq", query: "schedule=room-2&start=2024-05-01", token: tok, status: 200},
		{name: "busy only", query: hour + "&status=busy", token: tok, status: 200, starts: nil},
		{name: "unknown schedule", query: "schedule=Schedule/room-9&start=ge2024-05-01&start=lt2024-05-02", token: tok, status: 200, starts: nil},
		{name: "no token", query: hour, status: 401, oo: "bearer token"},
		{name: "no upper bound", query: "schedule=Schedule/room-1&start=ge2024-05-01", token: tok, status: 400, oo: "upper bound"},
		{name: "window too wide", query: "schedule=Schedule/room-1&start=ge2024-05-01&start=lt2024-05-04", token: tok, status: 400, oo: "apart"},
		{name: "not a Schedule", query: "schedule=Patient/p1&start=2024-05-01", token: tok, status: 400, oo: "reference a Schedule"},
		{name: "a path step is no id", query: "schedule=Schedule/..&start=2024-05-01", token: tok, status: 400, oo: "not a valid FHIR id"},
		{name: "bad date", query: "schedule=Schedule/room-1&start=ge01-05-2024&start=lt2024-05-02", token: tok, status: 400, oo: "date search value"},
		{name: "ne prefix", query: "schedule=Schedule/room-1&start=ne2024-05-01&start=lt2024-05-02", token: tok, status: 400, oo: "prefixes"},
		{name: "unknown parameter, strict", query: hour + "&_count=5", token: tok, strict: true, status: 400, oo: "supports: schedule, start, status"},
		{name: "unknown parameter, lenient", query: hour + "&_count=5", token: tok, status: 200,
			starts: []string{"2024-05-01T09:00:00Z", "2024-05-01T09:15:00Z", "2024-05-01T09:45:00Z"}},
		{name: "Solo down", query: hour, token: tok, fault: 503, status: 503, oo: "retry later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != 0 {
				sim.Inject(solosim.Fault{Path: "/qapi/v1/appointment-slots", Status: tt.fault})
				defer sim.ClearFaults()
			}
			req, _ := http.NewRequest("GET", base+tt.query, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.strict {
				req.Header.Set("Prefer", "handling=strict")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			v, err := fhir.Decode(body, fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if oo := fhir.Validate(v, ""); oo.HasErrors() {
				t.Fatalf("invalid FHIR: %v\n%s", oo, body)
			}
			if tt.status != 200 {
				if v.ResourceType() != "OperationOutcome" || !strings.Contains(string(body), tt.oo) {
					t.Errorf("want an OperationOutcome with %q: %s", tt.oo, body)
				}
				return
			}
			var b searchset
			if err := json.Unmarshal(body, &b); err != nil || b.Type != "searchset" {
				t.Fatalf("%v %s", err, body)
			}
			if tt.name == "a day as eq" {
				if b.Total != 96 {
					t.Errorf("a day of 15-minute slots: %d", b.Total)
				}
				return
			}
			var starts []string
			for _, e := range b.Entry {
				r := e.Resource
				if r.ResourceType == "OperationOutcome" { // the ignored parameters (lenient)
					continue
				}
				starts = append(starts, r.Start)
				st, _ := time.Parse(time.RFC3339, r.Start)
				end, _ := time.Parse(time.RFC3339, r.End)
				if r.ResourceType != "Slot" || r.Status != "free" || end.Sub(st) != 15*time.Minute ||
					!strings.HasPrefix(r.Schedule.Reference, "Schedule/room-") || !strings.HasSuffix(e.FullURL, "/fhir/Slot/"+r.ID) {
					t.Errorf("slot %+v", e)
				}
			}
			if strings.Join(starts, " ") != strings.Join(tt.starts, " ") || b.Total != len(tt.starts) {
				t.Errorf("starts %v (total %d), want %v", starts, b.Total, tt.starts)
			}
		})
	}
	// the CapabilityStatement advertises the search
	resp, err := http.Get("http://" + addr + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`{"type":"Slot","interaction":[{"code":"search-type"}],"searchParam":[{"name":"schedule","type":"reference"`, `{"name":"start","type":"date"`,
		`{"name":"birthdate","type":"date"`, `"searchInclude":["Appointment:patient"]`} {
		if !strings.Contains(string(meta), want) {
			t.Errorf("metadata lacks %s", want)
		}
	}
	// the waiting rooms were fetched once for all searches (TTL 5m)
	rooms := 0
	for _, r := range sim.Requests() {
		if r.Path == "/qapi/v1/waiting-rooms" {
			rooms++
		}
	}
	if rooms != 1 {
		t.Errorf("waiting rooms fetched %d times, want 1", rooms)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), "k-slots") || strings.Contains(logs.String(), tok) {
		t.Errorf("a secret reached the log")
	}
}
