package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
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

// TestDemoAndDeliveries runs the README's first command with --keep: every
// step and the final line print, and the command it prints for the kept
// folder works as printed, with no environment variable set (the Solo key
// is a file in the folder); deliveries show and discard read the same store.
func TestDemoAndDeliveries(t *testing.T) {
	t.Setenv("SOLO_DEMO_API_KEY", "") // restored after the test
	os.Unsetenv("SOLO_DEMO_API_KEY")  // the kept configuration must not need it
	out, stderr, code := run(t, "", "demo", "--keep")
	if code != 0 || !strings.Contains(out, "All delivered.") || !strings.Contains(out, "Solo patient SPID") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"1. POST /fhir with the demo transaction Bundle (6 entries): HTTP 200",
		"2. What Solo received", "3. Solo ids mapped back:",
		"4. tuOtempO export at 2026-12-01 06:00 (Europe/Madrid)", "| appt-demo-1;01/12/2026;09:30;",
		"5. tuOtempO's cancellation file dropped in the folder (fixtures/demo/cancellations.csv)",
		"line 5: no stored Appointment has this APP_LID",
		`6. The cancellation flowed on to Solo: Appointment/appt-demo-1 is now "cancelled"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// the kept folder and the command printed for it
	m := regexp.MustCompile(`(?m)^Kept the data folder (\S+)\. .*\n  (fhirbridge deliveries list --config (\S+))$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo --keep names no kept folder and command:\n%s", out)
	}
	dir, cfg := m[1], m[3]
	defer os.RemoveAll(dir)
	if !strings.Contains(out, "(SQLite in "+dir+")") || cfg != filepath.Join(dir, "fhirbridge.yaml") {
		t.Errorf("kept folder %s and config %s do not match the run's data folder:\n%s", dir, cfg, out)
	}
	list, stderr, code := run(t, "", strings.Fields(m[2])[1:]...)
	// patient, two appointments, and the cancellation of appt-demo-1 from the tuOtempO file
	if code != 0 || strings.Count(list, "delivered") != 4 {
		t.Errorf("%s: exit %d\n%s%s", m[2], code, list, stderr)
	}
	show, _, code := run(t, "", "deliveries", "show", "1", "--config", cfg)
	if code != 0 || !strings.Contains(show, "state:      delivered") {
		t.Errorf("deliveries show 1:\n%s", show)
	}
	if _, _, code := run(t, "", "deliveries", "discard", "1", "--config", cfg); code == 0 {
		t.Errorf("discarding a delivered job must fail")
	}
}

// TestDemoWithoutKeep: the data folder is gone after the run, and the
// output names no kept folder.
func TestDemoWithoutKeep(t *testing.T) {
	out, stderr, code := run(t, "", "demo")
	if code != 0 || !strings.Contains(out, "All delivered.") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	m := regexp.MustCompile(`\(SQLite in (\S+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("demo names no data folder:\n%s", out)
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		os.RemoveAll(m[1])
		t.Errorf("data folder %s left behind (stat: %v)", m[1], err)
	}
	if strings.Contains(out, "Kept") {
		t.Errorf("demo without --keep says it kept something:\n%s", out)
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
