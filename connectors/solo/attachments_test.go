package solo

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

var (
	pdfBytes = []byte("%PDF-1.4\n% canary-attachment\n%%EOF\n")
	pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	gifBytes = []byte("GIF89a\x01\x00\x01\x00")
)

// TestAttachmentEndpoints runs upload, list and delete against the
// simulator, including its documented refusals sent past the connector's
// own checks (raw requests), which the connector would never send.
func TestAttachmentEndpoints(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	a, err := e.c.UploadAttachment(ctx, "5001", "referral.pdf", "application/pdf", pdfBytes)
	if err != nil || a.ID == "" || a.Title != "referral.pdf" || a.MimeType != "application/pdf" || a.Size != int64(len(pdfBytes)) {
		t.Fatalf("upload: %+v %v", a, err)
	}
	if _, err := e.c.UploadAttachment(ctx, "5001", "", "image/png; charset=binary", pngBytes); err != nil {
		t.Fatalf("upload png: %v", err)
	}
	list, err := e.c.ListAttachments(ctx, "5001")
	if err != nil || len(list) != 2 || list[1].Title != "attachment" {
		t.Fatalf("list: %+v %v", list, err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
	}{
		{"upload to an unknown appointment", func() error {
			_, err := e.c.UploadAttachment(ctx, "9999", "x.pdf", "application/pdf", pdfBytes)
			return err
		}, 404},
		{"list of an unknown appointment", func() error { _, err := e.c.ListAttachments(ctx, "9999"); return err }, 404},
		{"delete", func() error { return e.c.DeleteAttachment(ctx, "5001", a.ID) }, 0},
		{"delete again (404 counts as deleted)", func() error { return e.c.DeleteAttachment(ctx, "5001", a.ID) }, 0},
		{"delete on an unknown appointment", func() error { return e.c.DeleteAttachment(ctx, "9999", a.ID) }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantStatus(t, tc.call(), tc.status, connectors.Permanent) })
	}
	docs, err := e.c.AttachmentsAsDocumentReferences(ctx, "5001", "Appointment/appt-1")
	if err != nil || len(docs) != 2 {
		t.Fatalf("as DocumentReferences: %v %v", docs, err)
	}
	first := string(docs[0].JSON())
	for _, want := range []string{`"resourceType":"DocumentReference"`, `"status":"entered-in-error"`, `"system":"urn:fhirbridge:solo:id","value":"` + a.ID + `"`,
		`"contentType":"application/pdf"`, `"title":"referral.pdf"`, `"related":[{"reference":"Appointment/appt-1"}]`} {
		if !strings.Contains(first, want) {
			t.Errorf("DocumentReference lacks %s: %s", want, first)
		}
	}

	raw := []struct {
		name, contentType string
		data              []byte
		status            int
		msg               string
	}{
		{"text/plain is refused with the spec's message", "text/plain", []byte("hello"), 400, `Mime type \"text/plain\" not supported. Available file mime-types:`},
		{"a GIF is refused", "image/gif", gifBytes, 400, "not supported"},
		{"over 5 MiB is refused", "application/pdf", append([]byte("%PDF-"), make([]byte, 6<<20)...), 400, "too large"},
		{"an empty file is refused", "application/pdf", nil, 400, "Bad parameters"},
	}
	for _, tc := range raw {
		t.Run("sim: "+tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/qapi/v1/appointments/5001/attachments?fileName=f", bytes.NewReader(tc.data))
			req.Header.Set("Api-Key", "test-key")
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.msg) {
				t.Fatalf("%d %s, want %d with %q", resp.StatusCode, b, tc.status, tc.msg)
			}
		})
	}
}

func attachmentDelivery(t *testing.T, op connectors.Op, vendorID, status, contentType string, data []byte) connectors.Delivery {
	b := fhir.NewObject()
	for k, v := range map[string]string{"status": status, "appointment": "appt-1", "appointmentId": "5001", "fileName": "f.pdf",
		"contentType": contentType, "data": base64.StdEncoding.EncodeToString(data)} {
		b.Set(k, fhir.NewString(v))
	}
	return connectors.Delivery{Flow: FlowAttachment, Key: "DocumentReference/doc-1/1", ResourceType: "DocumentReference", ResourceID: "doc-1",
		Op: op, Body: b, VendorID: vendorID, Fresh: true}
}

// TestAttachmentRefusedBeforeSending: a 6 MB PDF, a GIF, a PNG declared as
// PDF and a text file are refused Permanent with the reason, and no request
// reaches Solo.
func TestAttachmentRefusedBeforeSending(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	big := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{'x'}, 6<<20)...)
	tests := []struct {
		name, contentType string
		data              []byte
		is                error
		reason            string
	}{
		{"6 MB PDF", "application/pdf", big, ErrAttachmentSize, "5 MiB"},
		{"GIF", "image/gif", gifBytes, ErrAttachmentType, "content type image/gif"},
		{"PNG bytes declared as PDF", "application/pdf", pngBytes, ErrAttachmentType, "bytes are not application/pdf"},
		{"text", "text/plain", []byte("hello"), ErrAttachmentType, "text/plain"},
		{"no data", "application/pdf", nil, ErrAttachmentData, "no readable data"},
	}
	before := len(e.sim.Requests())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.c.Deliver(ctx, attachmentDelivery(t, connectors.Create, "", "current", tc.contentType, tc.data))
			if c, _ := connectors.Classify(err); c != connectors.Permanent || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("%v (%v), want Permanent %v naming %q", err, c, tc.is, tc.reason)
			}
			if strings.Contains(err.Error(), "canary") {
				t.Fatal("the error quotes the file")
			}
		})
	}
	if reqs := e.sim.Requests()[before:]; len(reqs) != 0 {
		t.Fatalf("refused attachments reached Solo: %+v", reqs)
	}
}

// TestDeliverAttachment: upload once, an update that is still current
// changes nothing, entered-in-error deletes; a not-yet-delivered
// appointment waits (Transient).
func TestDeliverAttachment(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	res, err := e.c.Deliver(ctx, attachmentDelivery(t, connectors.Create, "", "current", "application/pdf", pdfBytes))
	if err != nil || res.VendorID == "" {
		t.Fatalf("upload: %+v %v", res, err)
	}
	retry := attachmentDelivery(t, connectors.Create, "", "current", "application/pdf", pdfBytes)
	retry.Fresh = false
	if again, err := e.c.Deliver(ctx, retry); err != nil || again.VendorID != res.VendorID {
		t.Fatalf("a retried upload: %+v %v, want the same attachment", again, err)
	}
	before := len(e.sim.Requests())
	if _, err := e.c.Deliver(ctx, attachmentDelivery(t, connectors.Update, res.VendorID, "current", "application/pdf", pdfBytes)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sim.Requests()) - before; n != 0 {
		t.Fatalf("a current update sent %d requests", n)
	}
	if _, err := e.c.Deliver(ctx, attachmentDelivery(t, connectors.Update, res.VendorID, "entered-in-error", "application/pdf", pdfBytes)); err != nil {
		t.Fatal(err)
	}
	atts := e.sim.Attachments()
	if len(atts) != 1 || !atts[0].Deleted || !bytes.Equal(atts[0].Data, pdfBytes) {
		t.Fatalf("Solo has %+v, want one deleted attachment", atts)
	}
	d := attachmentDelivery(t, connectors.Create, "", "current", "application/pdf", pdfBytes)
	d.Body.Set("appointmentId", fhir.NewString(""))
	_, err = e.c.Deliver(ctx, d)
	if c, _ := connectors.Classify(err); c != connectors.Transient || !errors.Is(err, ErrNotDelivered) {
		t.Fatalf("appointment without a SAID: %v, want Transient ErrNotDelivered", err)
	}
}

// TestAttachmentMapping loads the shipped solo/attachment mapping (its
// cases run in mapping/shipped) and delivers a mapped DocumentReference whose bytes are in a Binary.
func TestAttachmentMapping(t *testing.T) {
	m, err := mapping.Load(shipped.FS, "solo/attachment.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	e := epSetup(t)
	store := map[string]string{
		"Appointment/appt-1": `{"resourceType":"Appointment","id":"appt-1","identifier":[{"system":"urn:fhirbridge:solo:id","value":"5001"}]}`,
		"Binary/bin-1":       `{"resourceType":"Binary","id":"bin-1","contentType":"image/png","data":"` + base64.StdEncoding.EncodeToString(pngBytes) + `"}`,
	}
	doc := body(t, `{"resourceType":"DocumentReference","id":"doc-1","status":"current","content":[{"attachment":{"url":"Binary/bin-1","title":"scan.png"}}],"context":{"related":[{"reference":"Appointment/appt-1"}]}}`)
	out, err := m.Apply(doc, fhir.ResolverFunc(func(ref string) *fhir.Value {
		if s, ok := store[ref]; ok {
			return body(t, s)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Deliver(context.Background(), connectors.Delivery{Flow: m.Name(), Key: "DocumentReference/doc-1/1",
		ResourceType: "DocumentReference", ResourceID: "doc-1", Op: connectors.Create, Body: out, Fresh: true})
	if err != nil || res.VendorID == "" {
		t.Fatalf("deliver: %+v %v", res, err)
	}
	atts := e.sim.Attachments()
	if len(atts) != 1 || atts[0].Title != "scan.png" || atts[0].MimeType != "image/png" || !bytes.Equal(atts[0].Data, pngBytes) {
		t.Fatalf("Solo has %+v", atts)
	}
}

// TestCheckDocumentReference: the acceptance check refuses what Solo would
// refuse, says where and why, and passes what it cannot judge yet.
func TestCheckDocumentReference(t *testing.T) {
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	doc := func(status, ct, data string) string {
		return `{"resourceType":"DocumentReference","status":"` + status + `","content":[{"attachment":{"contentType":"` + ct + `","data":"` + data + `"}}]}`
	}
	cases := []struct {
		name, body string
		refused    bool
	}{
		{"pdf", doc("current", "application/pdf", b64([]byte("%PDF-1.4 x"))), false},
		{"png", doc("current", "image/png", b64(pngBytes)), false},
		{"gif", doc("current", "image/gif", b64([]byte("GIF89a..."))), true},
		{"png bytes called pdf", doc("current", "application/pdf", b64(pngBytes)), true},
		{"over 5 MB", doc("current", "application/pdf", b64(append([]byte("%PDF-"), make([]byte, MaxAttachmentSize)...))), true},
		{"not base64", doc("current", "application/pdf", "@@@"), true},
		{"bytes in a Binary: checked at delivery", `{"resourceType":"DocumentReference","status":"current","content":[{"attachment":{"url":"Binary/b1"}}]}`, false},
		{"retired: not checked", doc("entered-in-error", "image/gif", b64([]byte("GIF89a"))), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckDocumentReference(body(t, c.body))
			if (err != nil) != c.refused {
				t.Fatalf("err = %v, refused want %v", err, c.refused)
			}
			var oo *fhir.OperationOutcome
			if c.refused && (!errors.As(err, &oo) || oo.Issues[0].Expression[0] != "DocumentReference.content[0].attachment") {
				t.Errorf("refusal is not an OperationOutcome at the attachment: %v", err)
			}
		})
	}
}
