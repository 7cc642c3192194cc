package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestServeEndToEnd starts serve on the embedded defaults (SQLite in a
// temporary data directory, a free loopback port), posts the demo Bundle,
// reads an Appointment back, and stops it gracefully.
func TestServeEndToEnd(t *testing.T) {
	c, err := config.Load("", []string{
		"FHIRBRIDGE_DATA_DIR=" + t.TempDir(),
		"FHIRBRIDGE_SERVER__LISTEN=127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("serve ended: %v", err)
	}
	base := "http://" + addr
	bundle, err := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(base+"/fhir", "application/fhir+json", strings.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "transaction-response") {
		t.Fatalf("POST /fhir: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/fhir/Appointment/appt-demo-1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"appt-demo-1"`) || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}

// TestServeDeliversToSolo runs the whole flow: the demo Bundle posted to
// serve is stored, routed, mapped and delivered to the Solo simulator —
// the Patient first, then its Appointments under the Patient's Solo id —
// and the ids Solo returns land in the crosswalk.
func TestServeDeliversToSolo(t *testing.T) {
	b := startBridge(t, "connectors:\n  $SOLO\n"+soloRoutes)
	sim, base := b.Sim, b.Base
	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	post(t, base+"/fhir", bundle, 200)
	b.Wait("1 patient and 2 appointments at Solo", func() bool { return len(sim.Patients()) == 1 && len(sim.Appointments()) == 2 })
	deadline := time.Now().Add(20 * time.Second)
	// the Solo ids and the visit link are visible on the stored Appointment
	var stored string
	for time.Now().Before(deadline) && !strings.Contains(stored, "urn:fhirbridge:solo:visitUrl") {
		r, err := http.Get(base + "/fhir/Appointment/appt-demo-1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		stored = string(body)
		time.Sleep(50 * time.Millisecond)
	}
	var said, visit string
	for _, a := range sim.Appointments() {
		if a.ExternalID == "appt-demo-1" {
			said, visit = strconv.Itoa(a.SAID), a.VisitURL
		}
	}
	for _, want := range []string{`"system":"urn:fhirbridge:solo:id","value":"` + said + `"`, `"url":"urn:fhirbridge:solo:visitUrl","valueString":"` + visit + `"`} {
		if !strings.Contains(stored, want) {
			t.Errorf("the stored Appointment lacks %s:\n%s", want, stored)
		}
	}
	r, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{
		`fhirbridge_delivery_jobs{flow="solo-appointments",state="delivered"} 2`,
		`fhirbridge_delivery_attempts_total{flow="solo-appointments",outcome="delivered",vendor="solo"} 2`,
		`fhirbridge_delivery_latency_seconds_count{flow="solo-patients",vendor="solo"}`,
		`fhirbridge_delivery_vendor_call_seconds_count{flow="solo-patients",vendor="solo"}`,
		`fhirbridge_store_group_commits_total`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
	b.Stop()
	b.NoCanary("Ejemplo", "Lucía", "600 000 001", "lucia.ejemplo", "MRN-DEMO-0001", "k-test")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestDemoAndDeliveries(t *testing.T) {
	out, stderr, code := run(t, "", "demo", "--keep")
	if code != 0 || !strings.Contains(out, "All delivered.") || !strings.Contains(out, "Solo patient SPID") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"| appt-demo-1;01/12/2026;09:30;", "line 5: no stored Appointment has this APP_LID", `appt-demo-1 is now "cancelled"`} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// the kept folder holds a config; deliveries reads the same store
	i := strings.Index(out, "(SQLite in ")
	dir := strings.Fields(out[i+len("(SQLite in "):])[0]
	dir = strings.TrimSuffix(dir, "),")
	defer os.RemoveAll(dir)
	os.Setenv("SOLO_DEMO_API_KEY", "demo-key")
	list, stderr, code := run(t, "", "deliveries", "list", "--config", filepath.Join(dir, "fhirbridge.yaml"))
	// patient, two appointments, and the cancellation of appt-demo-1 from the tuOtempO file
	if code != 0 || strings.Count(list, "delivered") != 4 {
		t.Errorf("deliveries list: exit %d\n%s%s", code, list, stderr)
	}
	show, _, code := run(t, "", "deliveries", "show", "1", "--config", filepath.Join(dir, "fhirbridge.yaml"))
	if code != 0 || !strings.Contains(show, "state:      delivered") {
		t.Errorf("deliveries show 1:\n%s", show)
	}
	if _, _, code := run(t, "", "deliveries", "discard", "1", "--config", filepath.Join(dir, "fhirbridge.yaml")); code == 0 {
		t.Errorf("discarding a delivered job must fail")
	}
}

// TestConcurrentSamePatientOneVendorCreate (RELIABILITY 5, end to end):
// eight interface-engine threads post the same Patient at once with
// If-None-Exist; the bridge stores one, and Solo sees one create.
func TestConcurrentSamePatientOneVendorCreate(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-8"})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	t.Setenv("E2E8_SOLO_KEY", "k-8")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+dir+`
server: {listen: "127.0.0.1:0"}
connectors:
  solo: {base_url: "`+simSrv.URL+`", api_key: {env: E2E8_SOLO_KEY}}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
`), 0o600)
	c, err := config.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// bodies differ in white space only, so request idempotency does not mask the race
			body := `{"resourceType":"Patient","identifier":[{"system":"urn:mrn","value":"SAME-1"}],"name":[{"use":"official","family":"Uno"}]` + strings.Repeat(" ", i) + `}`
			req, _ := http.NewRequest("POST", "http://"+addr+"/fhir/Patient", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("If-None-Exist", "identifier=urn:mrn|SAME-1")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}(i)
	}
	wg.Wait()
	created := 0
	for _, code := range codes {
		if code == 201 {
			created++
		} else if code != 200 {
			t.Errorf("status %d", code)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && len(sim.Patients()) == 0 {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a second create, if any, would land by now
	posts := 0
	for _, r := range sim.Requests() {
		if r.Method == "POST" && r.Path == "/qapi/v1/patients" {
			posts++
		}
	}
	if created != 1 || len(sim.Patients()) != 1 || posts != 1 {
		t.Errorf("%d created at the bridge, %d patients and %d creates at Solo; want 1, 1, 1", created, len(sim.Patients()), posts)
	}
	cancel()
	<-done
}
