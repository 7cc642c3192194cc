package solo

// Appointment attachments (spec "Appointment Attachments"):
//
//	solo/attachment  create  POST   /qapi/v1/appointments/{SAID}/attachments?fileName=   (the file's bytes, its Content-Type)
//	                 update  DELETE /qapi/v1/appointments/{SAID}/attachments/{attachment id}
//	                         when the DocumentReference's status is entered-in-error or superseded;
//	                         otherwise nothing (Solo cannot change an attachment)
//
// The shipped mapping solo/attachment maps a DocumentReference to
//
//	{"appointment": our Appointment id, "appointmentId": its SAID,
//	 "status", "fileName", "contentType", "data": base64}
//
// taking the appointment from the first context.related reference to an
// Appointment (read, through the store, with its urn:fhirbridge:solo:id
// identifier) and the bytes from content.attachment.data, or from the
// Binary that content.attachment.url names. An attachment's vendor id is
// the attachment id Solo answers.
//
// Before anything is sent the connector refuses (Permanent, so the job is
// dead-lettered with the reason) a content type other than PDF, PNG and
// JPEG (application/pdf, application/x-pdf, image/pdf, image/png,
// image/jpeg, as the spec lists), bytes whose signature is not that type,
// and a file over MaxAttachmentSize. An attachment whose appointment has no
// SAID yet fails Transient (ErrNotDelivered) and is retried.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// FlowAttachment is the attachment flow (mapping name).
const FlowAttachment = "solo/attachment"

// MaxAttachmentSize is Solo's "Max file size: 5Mb", read as 5 MiB.
const MaxAttachmentSize = 5 << 20

// AttachmentTypes are the content types Solo accepts for an attachment.
var AttachmentTypes = []string{"application/pdf", "application/x-pdf", "image/pdf", "image/png", "image/jpeg"}

// Errors of the attachment checks (each arrives Permanent).
var (
	// ErrAttachmentType: the content type is not one Solo accepts, or the
	// bytes are not of the declared type.
	ErrAttachmentType = errors.New("attachment type not accepted by solo (PDF, PNG or JPEG only)")
	// ErrAttachmentSize: the file is larger than MaxAttachmentSize.
	ErrAttachmentSize = errors.New("attachment larger than solo's 5 MiB limit")
	// ErrAttachmentData: no bytes, or data that is not base64.
	ErrAttachmentData = errors.New("attachment has no readable data")
)

// Attachment is an appointment attachment as Solo lists it.
type Attachment struct {
	ID            string `json:"id"`
	AppointmentID string `json:"appointmentId"`
	Title         string `json:"title"`
	MimeType      string `json:"mimeType"`
	Size          int64  `json:"size"`
	UploadedAt    string `json:"uploadedAt"`
	Deleted       bool   `json:"deleted"`
}

// CheckAttachment checks a file against Solo's rules before it is sent and
// returns the content type to send. The error names the type or the size,
// never the content.
func CheckAttachment(contentType string, data []byte) (string, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", connectors.Permanently(fmt.Errorf("content type is not readable: %w", ErrAttachmentType))
	}
	if !attachmentTypeAccepted(mt) {
		return "", connectors.Permanently(fmt.Errorf("content type %s: %w", attachmentSafeType(mt), ErrAttachmentType))
	}
	if len(data) == 0 {
		return "", connectors.Permanently(ErrAttachmentData)
	}
	if len(data) > MaxAttachmentSize {
		return "", connectors.Permanently(fmt.Errorf("%d bytes: %w", len(data), ErrAttachmentSize))
	}
	if !attachmentSignatureMatches(mt, data) {
		return "", connectors.Permanently(fmt.Errorf("bytes are not %s: %w", mt, ErrAttachmentType))
	}
	return mt, nil
}

func attachmentTypeAccepted(mt string) bool {
	for _, t := range AttachmentTypes {
		if t == mt {
			return true
		}
	}
	return false
}

// safeType returns a media type fit for an error: type/subtype tokens only.
func attachmentSafeType(mt string) string {
	if len(mt) > 64 || strings.Trim(mt, "abcdefghijklmnopqrstuvwxyz0123456789+-./") != "" {
		return "(unusual)"
	}
	return mt
}

// signatureMatches checks the file's magic bytes against its type.
func attachmentSignatureMatches(mt string, data []byte) bool {
	switch mt {
	case "image/png":
		return bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n"))
	case "image/jpeg":
		return bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF})
	default: // the PDF types
		return bytes.HasPrefix(data, []byte("%PDF-"))
	}
}

// decodeAttachment decodes base64 data, refusing an oversized file before
// decoding it.
func decodeAttachment(b64 string) ([]byte, error) {
	b64 = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, b64)
	if base64.StdEncoding.DecodedLen(len(b64)) > MaxAttachmentSize+3 {
		return nil, connectors.Permanently(fmt.Errorf("about %d bytes: %w", base64.StdEncoding.DecodedLen(len(b64)), ErrAttachmentSize))
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, connectors.Permanently(fmt.Errorf("data is not base64: %w", ErrAttachmentData))
	}
	return data, nil
}

// UploadAttachment checks the file (CheckAttachment) and uploads it to
// the appointment with SAID said under fileName.
func (c *Connector) UploadAttachment(ctx context.Context, said, fileName, contentType string, data []byte) (Attachment, error) {
	mt, err := CheckAttachment(contentType, data)
	if err != nil {
		return Attachment{}, fmt.Errorf("checking attachment: %w", err)
	}
	var q url.Values
	if fileName != "" {
		q = url.Values{"fileName": {fileName}}
	}
	_, ans, err := c.extDo(ctx, extRequest{method: http.MethodPost, path: connectors.PathOf("/qapi/v1/appointments/{said}/attachments", said), query: q, body: data, contentType: mt})
	if err != nil {
		return Attachment{}, fmt.Errorf("uploading attachment: %w", err)
	}
	var a Attachment
	if json.Unmarshal(ans, &a) != nil || a.ID == "" {
		return Attachment{}, fmt.Errorf("uploading attachment: %w", connectors.Transiently(ErrBadAnswer, 0))
	}
	return a, nil
}

// ListAttachments returns the attachments of the appointment with SAID said.
func (c *Connector) ListAttachments(ctx context.Context, said string) ([]Attachment, error) {
	var a struct {
		Attachments []Attachment `json:"attachments"`
	}
	if err := c.extGetJSON(ctx, connectors.PathOf("/qapi/v1/appointments/{said}/attachments", said), &a); err != nil {
		return nil, fmt.Errorf("listing attachments: %w", err)
	}
	return a.Attachments, nil
}

// DeleteAttachment deletes attachment id of the appointment with SAID
// said; an attachment Solo no longer has (404) counts as deleted.
func (c *Connector) DeleteAttachment(ctx context.Context, said, id string) error {
	status, _, err := c.extDo(ctx, extRequest{method: http.MethodDelete, path: connectors.PathOf("/qapi/v1/appointments/{said}/attachments/{id}", said, id)})
	if err != nil && status != http.StatusNotFound {
		return fmt.Errorf("deleting attachment: %w", err)
	}
	return nil
}

// AttachmentsAsDocumentReferences lists the attachments of the appointment
// with SAID said as FHIR DocumentReferences whose context.related is
// appointmentRef (e.g. "Appointment/appt-1"). Each carries the attachment
// id as identifier urn:fhirbridge:solo:id, status current (entered-in-error
// when Solo marks it deleted) and content.attachment with contentType,
// title, size and creation; the bytes stay at Solo.
func (c *Connector) AttachmentsAsDocumentReferences(ctx context.Context, said, appointmentRef string) ([]*fhir.Value, error) {
	list, err := c.ListAttachments(ctx, said)
	if err != nil {
		return nil, err
	}
	out := make([]*fhir.Value, 0, len(list))
	for _, a := range list {
		out = append(out, attachmentDocumentReference(a, appointmentRef))
	}
	return out, nil
}

func attachmentDocumentReference(a Attachment, appointmentRef string) *fhir.Value {
	d := fhir.NewObject()
	d.Set("resourceType", fhir.NewString("DocumentReference"))
	ident := fhir.NewObject()
	ident.Set("system", fhir.NewString("urn:fhirbridge:solo:id"))
	ident.Set("value", fhir.NewString(a.ID))
	d.Set("identifier", fhir.NewArray(ident))
	status := "current"
	if a.Deleted {
		status = "entered-in-error"
	}
	d.Set("status", fhir.NewString(status))
	if a.UploadedAt != "" {
		d.Set("date", fhir.NewString(a.UploadedAt))
	}
	att := fhir.NewObject()
	if a.MimeType != "" {
		att.Set("contentType", fhir.NewString(a.MimeType))
	}
	if a.Title != "" {
		att.Set("title", fhir.NewString(a.Title))
	}
	if a.Size > 0 {
		att.Set("size", fhir.NewNumber(strconv.FormatInt(a.Size, 10)))
	}
	if a.UploadedAt != "" {
		att.Set("creation", fhir.NewString(a.UploadedAt))
	}
	content := fhir.NewObject()
	content.Set("attachment", att)
	d.Set("content", fhir.NewArray(content))
	if appointmentRef != "" {
		ref := fhir.NewObject()
		ref.Set("reference", fhir.NewString(appointmentRef))
		ctx := fhir.NewObject()
		ctx.Set("related", fhir.NewArray(ref))
		d.Set("context", ctx)
	}
	return d
}

// deliverAttachment uploads or deletes an attachment (flow solo/attachment).
func (c *Connector) deliverAttachment(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	b := d.Body
	status := b.GetString("status")
	withdrawn := status == "entered-in-error" || status == "superseded"
	said := b.GetString("appointmentId")
	if d.Op == connectors.Update {
		if d.VendorID == "" {
			return connectors.Result{}, connectors.Permanently(ErrNoVendorID)
		}
		if !withdrawn { // Solo cannot change an attachment in place
			return connectors.Result{VendorID: d.VendorID}, nil
		}
		if said == "" {
			return connectors.Result{}, connectors.Permanently(fmt.Errorf("deleting attachment: the appointment's solo id is not known: %w", ErrNotDelivered))
		}
		if err := c.DeleteAttachment(ctx, said, d.VendorID); err != nil {
			return connectors.Result{}, err
		}
		return connectors.Result{VendorID: d.VendorID}, nil
	}
	if d.Op != connectors.Create {
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	if withdrawn { // never sent, already withdrawn: nothing to tell Solo
		return connectors.Result{}, nil
	}
	// the checks come first, so a refused file is refused even while its
	// appointment is still waiting for its SAID
	data, err := decodeAttachment(b.GetString("data"))
	if err != nil {
		return connectors.Result{}, fmt.Errorf("checking attachment: %w", err)
	}
	if _, err := CheckAttachment(b.GetString("contentType"), data); err != nil {
		return connectors.Result{}, fmt.Errorf("checking attachment: %w", err)
	}
	switch {
	case b.GetString("appointment") == "":
		return connectors.Result{}, connectors.Permanently(errors.New("attachment refers to no Appointment (context.related)"))
	case said == "":
		return connectors.Result{}, connectors.Transiently(fmt.Errorf("appointment %s: %w", b.GetString("appointment"), ErrNotDelivered), 0)
	}
	if !d.Fresh { // an earlier attempt may have uploaded it: look for the same name and size
		if id := c.findAttachment(ctx, said, b.GetString("fileName"), int64(len(data))); id != "" {
			return connectors.Result{VendorID: id}, nil
		}
	}
	a, err := c.UploadAttachment(ctx, said, b.GetString("fileName"), b.GetString("contentType"), data)
	if err != nil {
		return connectors.Result{}, err
	}
	return connectors.Result{VendorID: a.ID}, nil
}

// findAttachment returns the id of a live attachment with the name and
// size, "" when none or when the list cannot be read (then the upload
// goes ahead).
func (c *Connector) findAttachment(ctx context.Context, said, name string, size int64) string {
	if name == "" {
		return ""
	}
	list, err := c.ListAttachments(ctx, said)
	if err != nil {
		return ""
	}
	for _, a := range list {
		if !a.Deleted && a.Title == name && a.Size == size {
			return a.ID
		}
	}
	return ""
}

// CheckDocumentReference is the acceptance check of the solo/attachment
// flow: a DocumentReference whose inline attachment Solo would refuse (a
// type other than PDF, PNG or JPEG, bytes that do not match the type, more
// than MaxAttachmentSize) is refused when it arrives, so the interface
// engine gets the reason at once instead of a dead letter later. A
// document that carries its bytes in a Binary (url) is checked at delivery,
// and one that is being retired (entered-in-error, superseded) is not
// checked at all. The error is an *fhir.OperationOutcome naming the element
// and the rule (type or size, never the content).
func CheckDocumentReference(res *fhir.Value) error {
	switch res.GetString("status") {
	case "entered-in-error", "superseded":
		return nil
	}
	content := res.Get("content")
	if content == nil || content.Kind != fhir.Array || len(content.Items) == 0 {
		return nil
	}
	att := content.Items[0].Get("attachment")
	b64 := att.GetString("data")
	if b64 == "" {
		return nil
	}
	const where = "DocumentReference.content[0].attachment"
	data, err := decodeAttachment(b64)
	if err == nil {
		_, err = CheckAttachment(att.GetString("contentType"), data)
	}
	if err != nil {
		return (&fhir.OperationOutcome{}).Add(fhir.CodeValue, where,
			"Teladoc Health Solo takes PDF, PNG or JPEG attachments of at most 5 MB: "+err.Error())
	}
	return nil
}
