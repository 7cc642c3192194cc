package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeAttachmentToSolo: with Solo configured the endpoint takes
// DocumentReferences, and one that names a delivered Appointment is
// uploaded to Solo as that appointment's attachment; a GIF is refused at
// acceptance with a 422 OperationOutcome saying why, and nothing of it is
// stored or sent.
func TestServeAttachmentToSolo(t *testing.T) {
	b := startBridge(t, "connectors:\n  $SOLO\n"+soloRoutes+
		"  - {name: solo-attachments, resource: DocumentReference, mapping: solo/attachment, connector: solo}\n")
	sim, base := b.Sim, b.Base
	bundle, _ := readFile(filepath.Join(repoRoot(t), "fixtures", "demo", "appointments.json"))
	post(t, base+"/fhir", bundle, 200)
	b.Wait("both appointments at Solo", func() bool { return len(sim.Appointments()) == 2 })

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
	b.Wait("the PDF at Solo", func() bool { return len(sim.Attachments()) == 1 })
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, "attachments") && r.Status != 200 {
			t.Errorf("a refused attachment reached Solo: %s %s → %d", r.Method, r.Path, r.Status)
		}
	}
	if n := len(sim.Attachments()); n != 1 {
		t.Errorf("Solo holds %d attachments, want the PDF only", n)
	}
	b.Stop()
	b.NoCanary("Ejemplo", "k-test")
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
