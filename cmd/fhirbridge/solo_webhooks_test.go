package main

import (
	"context"
	"io"
	"log/slog"
	"net"
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

// TestSoloWebhooksEndToEnd: register a webhook with the CLI, serve with a
// Solo route and the receiver, let the simulator's appointment complete,
// and find the stored Appointment fulfilled, the visit's Encounter stored
// and both pushed to the EHR; nothing secret or personal in the output.
func TestSoloWebhooksEndToEnd(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-wh-e2e", WaitingRooms: []string{"General Practice", "Telehealth"}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	var ehrMu sync.Mutex
	ehrPuts := map[string]string{}
	ehr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodGet && r.Header.Get("Authorization") == "Bearer ehr-e2e" {
			w.WriteHeader(http.StatusNotFound) // the conditional write's read: no copy yet
			return
		}
		if r.Method != "PUT" || r.Header.Get("Authorization") != "Bearer ehr-e2e" {
			w.WriteHeader(401)
			return
		}
		ehrMu.Lock()
		ehrPuts[r.URL.Path] = string(b)
		ehrMu.Unlock()
	}))
	defer ehr.Close()
	t.Setenv("E2E_SOLO_KEY", "k-wh-e2e")
	t.Setenv("E2E_EHR_TOKEN", "ehr-e2e")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	base := `data_dir: ` + dir + `
server: {listen: "` + addr + `"}
ehr: {fhir_base_url: "` + ehr.URL + `/fhir", token: {env: E2E_EHR_TOKEN}}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
connectors:
  solo:
    base_url: "` + simSrv.URL + `"
    api_key: {env: E2E_SOLO_KEY}
`
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := run(t, "", "solo", "webhooks", "register", "--config", cfg, "--url", "http://"+addr,
		"--events", "appointment:completed,appointment:cancelled,appointment:lwbs")
	if code != 0 {
		t.Fatalf("register: %d %s %s", code, out, stderr)
	}
	whs := sim.Webhooks()
	if len(whs) != 1 {
		t.Fatalf("webhooks at Solo: %+v", whs)
	}
	token := strings.TrimPrefix(whs[0].Endpoint, "http://"+addr+"/solo/webhooks/")
	if len(token) < 32 || strings.Contains(out+stderr, whs[0].EncryptionKey) || strings.Contains(out+stderr, token) {
		t.Fatalf("register printed a secret or made a short token:\n%s%s", out, stderr)
	}
	_, snip, ok := strings.Cut(out, "    webhooks:\n")
	if !ok {
		t.Fatalf("no config lines in:\n%s", out)
	}
	for _, f := range []string{filepath.Join(dir, "solo-webhook.token"), filepath.Join(dir, "solo-webhook-"+whs[0].ID+".key")} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	if err := os.WriteFile(cfg, []byte(base+"    webhooks:\n"+snip), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, code := run(t, "", "solo", "webhooks", "list", "--config", cfg); code != 0 || !strings.Contains(out, whs[0].ID) || strings.Contains(out, token) {
		t.Fatalf("list: %s", out)
	}

	c, err := config.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	var mu sync.Mutex
	got, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))
	if err != nil || got != addr {
		t.Fatalf("serve: %v %s", err, got)
	}
	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	resp, err := http.Post("http://"+addr+"/fhir", "application/fhir+json", strings.NewReader(bundle))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST: %v %v", err, resp)
	}
	resp.Body.Close()
	get := func(p string) (int, string) {
		r, err := http.Get("http://" + addr + "/fhir/" + p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, a := get("Appointment/appt-demo-1"); strings.Contains(a, "urn:fhirbridge:solo:id") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	said := 0
	for _, a := range sim.Appointments() {
		if a.ExternalID == "appt-demo-1" {
			said = a.SAID
		}
	}
	if said == 0 {
		t.Fatal("the appointment did not reach Solo")
	}

	ds, err := sim.SetAppointmentStatus(said, "completed", "")
	if err != nil || len(ds) != 1 || ds[0].Status != 200 {
		t.Fatalf("delivery: %+v %v", ds, err)
	}
	var appt, enc string
	for time.Now().Before(deadline) {
		_, appt = get("Appointment/appt-demo-1")
		code, e := get("Encounter/solo-visit-" + strconv.Itoa(said))
		if code == 200 && strings.Contains(appt, `"status":"fulfilled"`) {
			enc = e
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(appt, `"status":"fulfilled"`) {
		t.Fatalf("stored Appointment not fulfilled:\n%s", appt)
	}
	for _, want := range []string{`"status":"finished"`, `"reference":"Appointment/appt-demo-1"`, `"code":"VR"`} {
		if !strings.Contains(enc, want) {
			t.Errorf("Encounter lacks %s:\n%s", want, enc)
		}
	}
	// the same delivery again, and a tampered one
	post := func(body string) (int, string) {
		r, err := http.Post(whs[0].Endpoint, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, _ := post(ds[0].Payload); code != 200 {
		t.Errorf("replay answered %d", code)
	}
	if code, body := post(ds[0].Payload[:len(ds[0].Payload)-4]); code != 400 || body != `{"error":"rejected"}`+"\n" {
		t.Errorf("tampered answered %d %s", code, body)
	}
	for time.Now().Before(deadline) {
		ehrMu.Lock()
		n := len(ehrPuts)
		ehrMu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ehrMu.Lock()
	if !strings.Contains(ehrPuts["/fhir/Appointment/appt-demo-1"], `"fulfilled"`) || !strings.Contains(ehrPuts["/fhir/Encounter/solo-visit-"+strconv.Itoa(said)], `"finished"`) {
		t.Errorf("EHR received %v", ehrPuts)
	}
	ehrMu.Unlock()
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	if out, _, code := run(t, "", "solo", "webhooks", "replay", "--config", cfg); code != 0 || !strings.Contains(out, "replayed 0 events") {
		t.Errorf("replay: %d %s", code, out)
	}
	if out, _, code := run(t, "", "solo", "webhooks", "delete", "--config", cfg, whs[0].ID); code != 0 || sim.Webhooks()[0].Active {
		t.Errorf("delete: %d %s", code, out)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, canary := range []string{"Ejemplo", "Lucía", "600 000 001", "lucia.ejemplo", "MRN-DEMO-0001", "k-wh-e2e", "ehr-e2e", whs[0].EncryptionKey, token} {
		if strings.Contains(logs.String(), canary) {
			t.Errorf("the log carries a patient value or a secret (%q)", canary)
		}
	}
}
