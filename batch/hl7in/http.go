package hl7in

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"go.opentelemetry.io/otel/propagation"

	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// ContentType is the media type of an ER7 message and of the ACK POST
// /hl7v2 answers.
const ContentType = "x-application/hl7-v2+er7"

// acceptedTypes are the request media types POST /hl7v2 takes.
var acceptedTypes = map[string]bool{
	ContentType:              true,
	"application/hl7-v2":     true,
	"application/hl7-v2+er7": true,
	"text/plain":             true,
}

// HTTPHandler serves POST /hl7v2: the body is one ER7 message, the answer
// (200) its ACK. It requires the FHIR endpoint's bearer tokens.
type HTTPHandler struct {
	// Handler processes the message.
	Handler *Handler
	// Tokens are the accepted bearer token hashes (none: no
	// authentication, as for /fhir).
	Tokens []server.TokenHash
	// MaxBytes bounds the body (hl7v2.DefaultMaxMessageBytes when 0).
	MaxBytes int
}

// ServeHTTP handles one request.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, text string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text+"\n")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		fail(http.StatusMethodNotAllowed, "POST an HL7 v2 message")
		return
	}
	if !server.Authorized(h.Tokens, r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhirbridge"`)
		fail(http.StatusUnauthorized, "a valid bearer token is required")
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !acceptedTypes[mt] {
		fail(http.StatusUnsupportedMediaType, "Content-Type must be "+ContentType+" (or application/hl7-v2, text/plain)")
		return
	}
	limit := h.MaxBytes
	if limit <= 0 {
		limit = hl7v2.DefaultMaxMessageBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		fail(http.StatusRequestEntityTooLarge, "the message is larger than the configured hl7v2.max_message_bytes")
		return
	case err != nil:
		fail(http.StatusBadRequest, "the body could not be read")
		return
	}
	// the request id is the X-Request-Id middleware's; a traceparent the
	// sender gave makes the message's span a child of its span
	ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ack, _ := h.Handler.Process(ctx, body, "http")
	if ack == nil {
		w.Header().Set("Retry-After", "5")
		fail(http.StatusServiceUnavailable, "the message was not processed; send it again")
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ack)
}
