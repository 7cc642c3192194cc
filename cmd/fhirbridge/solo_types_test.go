package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestServeAttachmentToSolo: with Solo configured the endpoint takes
// DocumentReferences, and one that names a delivered Appointment is
// uploaded to Solo as that appointment's attachment; a GIF is refused at
// acceptance with a 422 OperationOutcome saying why, and nothing of it is
// stored or sent.
func TestServeAttachmentToSolo(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-att", WaitingRooms: []string{"General Practice", "Telehealth"}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	t.Setenv("ATT_SOLO_KEY", "k-att")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+dir+`
server: {listen: "127.0.0.1:0"}
connectors:
  solo: {base_url: "`+simSrv.URL+`", api_key: {env: ATT_SOLO_KEY}}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
  - {name: solo-attachments, resource: DocumentReference, mapping: solo/attachment, connector: solo}
`), 0o600)
	c, err := config.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	var mu sync.Mutex
	addr, done, err := startServe(ctx, c, slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	logText := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	base := "http://" + addr
	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	post(t, base+"/fhir", bundle, 200)
	waitFor(t, "both appointments at Solo", func() bool { return len(sim.Appointments()) == 2 }, logText)

	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"))
	gif := base64.StdEncoding.EncodeToString([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	doc := func(id, ct, data string) string {
		return `{"resourceType":"DocumentReference","id":"` + id + `","status":"current","content":[{"attachment":{"contentType":"` + ct +
			`","data":"` + data + `","title":"` + id + `"}}],"context":{"related":[{"reference":"Appointment/appt-demo-1"}]}}`
	}
	put(t, base+"/fhir/DocumentReference/doc-pdf", doc("doc-pdf", "application/pdf", pdf), 201)
	refusal := put(t, base+"/fhir/DocumentReference/doc-gif", doc("doc-gif", "image/gif", gif), 422)
	if !strings.Contains(refusal, "OperationOutcome") || !strings.Contains(refusal, "image/gif") {
		t.Errorf("the refusal must be an OperationOutcome naming the type:\n%s", refusal)
	}
	send(t, "GET", base+"/fhir/DocumentReference/doc-gif", "", 404)
	waitFor(t, "the PDF at Solo", func() bool { return len(sim.Attachments()) == 1 }, logText)
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, "attachments") && r.Status != 200 {
			t.Errorf("a refused attachment reached Solo: %s %s → %d", r.Method, r.Path, r.Status)
		}
	}
	if n := len(sim.Attachments()); n != 1 {
		t.Errorf("Solo holds %d attachments, want the PDF only", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

// post and put send a FHIR body, check the status and return the answer.
func post(t *testing.T, url, body string, want int) string {
	t.Helper()
	return send(t, "POST", url, body, want)
}

func put(t *testing.T, url, body string, want int) string {
	t.Helper()
	return send(t, "PUT", url, body, want)
}

func send(t *testing.T, method, url, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d\n%s", method, url, resp.StatusCode, want, b)
	}
	return string(b)
}
