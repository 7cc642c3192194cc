package solosim

// Appointment attachments.
//
// The spec documents the mime-type error's body and the 5Mb limit but no
// status codes. Choices: a Content-Type outside the spec's list answers 400
// with the spec's message (Mime type "..." not supported. Available file
// mime-types: ...); a body over 5 MiB answers 400 "File is too large.
// Maximum file size is 5Mb."; an empty body answers 400; an unknown
// appointment or attachment 404 (also for an attachment already deleted).
// A deleted attachment stays in the list with "deleted": true. Attachment
// ids are 00000000-0000-4000-a000-00000000000N; fileName defaults to
// "attachment".

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"time"
)

// MaxAttachment is the largest attachment the simulator accepts (5 MiB).
const MaxAttachment = 5 << 20

var attachmentTypes = []string{"application/pdf", "application/x-pdf", "image/pdf", "image/png", "image/jpeg"}

// Attachment is a stored appointment attachment; Data is kept for test
// assertions only.
type Attachment struct {
	ID       string
	SAID     int
	Title    string
	MimeType string
	Size     int
	Uploaded time.Time
	Deleted  bool
	Data     []byte
}

type attachmentState struct{ list []*Attachment }

func init() {
	registerArea(func(s *Sim) {
		m := s.mux
		m.HandleFunc("POST /qapi/v1/appointments/{id}/attachments", s.withAppointment(s.attUpload))
		m.HandleFunc("GET /qapi/v1/appointments/{id}/attachments", s.withAppointment(s.attList))
		m.HandleFunc("DELETE /qapi/v1/appointments/{id}/attachments/{aid}", s.withAppointment(s.attDelete))
	})
}

func (s *Sim) attState() *attachmentState {
	return s.area("attachments", func() any { return &attachmentState{} }).(*attachmentState)
}

// Attachments returns copies of the stored attachments in upload order.
func (s *Sim) Attachments() []Attachment {
	st := s.attState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Attachment, len(st.list))
	for i, a := range st.list {
		out[i] = *a
		out[i].Data = slices.Clone(a.Data)
	}
	return out
}

func (s *Sim) attUpload(w http.ResponseWriter, r *http.Request, a *Appointment) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(attachmentTypes, mt) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`Mime type %q not supported. Available file mime-types: "application/pdf", "application/x-pdf", "image/pdf", "image/png", "image/jpeg"`, mt))
		return
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, MaxAttachment+1))
	switch {
	case len(data) > MaxAttachment:
		writeError(w, http.StatusBadRequest, "File is too large. Maximum file size is 5Mb.")
		return
	case len(data) == 0:
		badParams(w, "file", "This value should not be blank.")
		return
	}
	name := r.URL.Query().Get("fileName")
	if name == "" {
		name = "attachment"
	}
	st := s.attState()
	s.mu.Lock()
	defer s.mu.Unlock()
	att := &Attachment{ID: fmt.Sprintf("00000000-0000-4000-a000-%012d", len(st.list)+1), SAID: a.SAID, Title: name,
		MimeType: mt, Size: len(data), Uploaded: s.opt.Now().UTC(), Data: data}
	st.list = append(st.list, att)
	writeJSON(w, http.StatusOK, attJSON(att))
}

func attJSON(a *Attachment) map[string]any {
	return map[string]any{"id": a.ID, "appointmentId": fmt.Sprint(a.SAID), "title": a.Title, "mimeType": a.MimeType,
		"size": a.Size, "uploadedAt": a.Uploaded.Format(time.RFC3339), "deleted": a.Deleted}
}

func (s *Sim) attList(w http.ResponseWriter, _ *http.Request, a *Appointment) {
	st := s.attState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, x := range st.list {
		if x.SAID == a.SAID {
			out = append(out, attJSON(x))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"attachments": out})
}

func (s *Sim) attDelete(w http.ResponseWriter, r *http.Request, a *Appointment) {
	st := s.attState()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range st.list {
		if x.SAID == a.SAID && x.ID == r.PathValue("aid") && !x.Deleted {
			x.Deleted = true
			writeJSON(w, http.StatusOK, []any{})
			return
		}
	}
	writeError(w, http.StatusNotFound, "Attachment not found")
}
