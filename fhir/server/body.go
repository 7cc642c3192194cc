package server

import (
	"compress/gzip"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// apiError is a request that ends in an error response: its status, the
// value-free OperationOutcome to send, and the rejection reason to count
// (when the body was rejected).
type apiError struct {
	status int
	oo     *fhir.OperationOutcome
	reason string
}

// Error describes the failure without any value from the request.
func (e *apiError) Error() string {
	return http.StatusText(e.status) + ": " + e.oo.Error()
}

// newError returns an apiError with one issue.
func newError(status int, reason, code, expr, diag string) *apiError {
	return &apiError{status: status, reason: reason, oo: (*fhir.OperationOutcome)(nil).Add(code, expr, diag)}
}

// mediaTypes are the accepted request content types.
var mediaTypes = map[string]bool{
	"application/fhir+json": true,
	"application/json":      true,
	"application/json+fhir": true, // DSTU2 name, still sent by some engines
}

// checkMediaType accepts a FHIR JSON content type in UTF-8, of FHIR R4
// when it names a fhirVersion.
func checkMediaType(r *http.Request) *apiError {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !mediaTypes[mt] {
		return newError(http.StatusUnsupportedMediaType, reasonMediaType, "not-supported", "",
			"Content-Type must be application/fhir+json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return newError(http.StatusUnsupportedMediaType, reasonMediaType, "not-supported", "",
			"the only accepted charset is UTF-8")
	}
	if v, ok := params["fhirversion"]; ok && !isR4(v) {
		return newError(http.StatusUnsupportedMediaType, reasonMediaType, "not-supported", "",
			"this server only accepts FHIR R4 (fhirVersion=4.0)")
	}
	return nil
}

// isR4 reports whether a fhirVersion media type parameter names FHIR R4:
// "4.0" as the specification writes it, or a 4.0.x release.
func isR4(v string) bool {
	return v == "4.0" || strings.HasPrefix(v, "4.0.")
}

// acceptable answers 406 unless a FHIR R4 JSON response satisfies the
// _format parameter or, without one, the Accept header (see negotiate).
func (h *handler) acceptable(w http.ResponseWriter, r *http.Request) bool {
	if e := negotiate(r); e != nil {
		h.writeError(w, e)
		return false
	}
	return true
}

// readBody reads the request body, inflating gzip, and refuses it with 413
// as soon as it passes BodyLimit, as sent or inflated: it never reads or
// inflates more than BodyLimit+1 bytes.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if e := checkMediaType(r); e != nil {
		return nil, e
	}
	limit := h.opt.BodyLimit
	tooLarge := newError(http.StatusRequestEntityTooLarge, reasonTooLarge, "too-costly", "",
		"the request body is larger than the limit")
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	defer body.Close()
	var src io.Reader = body
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, readError(err, tooLarge, true)
		}
		defer zr.Close()
		src, gz = io.LimitReader(zr, limit+1), true
	default:
		return nil, newError(http.StatusUnsupportedMediaType, reasonEncoding, "not-supported", "",
			"Content-Encoding must be gzip or identity")
	}
	buf := make([]byte, 0, initialSize(r.ContentLength, gz, limit))
	data, err := readAll(src, buf)
	if err != nil {
		return nil, readError(err, tooLarge, gz)
	}
	if int64(len(data)) > limit {
		tooLarge.reason = reasonInflated
		return nil, tooLarge
	}
	return data, nil
}

// initialSize guesses the buffer size of a body.
func initialSize(n int64, gz bool, limit int64) int64 {
	switch {
	case n <= 0:
		return 4096
	case gz:
		return min(4*n, limit+1)
	}
	return n + 1
}

// readAll appends all of r to buf (io.ReadAll with a given first buffer).
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// readError classifies a failure to read or inflate the body.
func readError(err error, tooLarge *apiError, gz bool) *apiError {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge
	case gz:
		return newError(http.StatusBadRequest, reasonBadGzip, fhir.CodeStructure, "",
			"the gzip body is corrupt or truncated")
	}
	return newError(http.StatusBadRequest, reasonReadFailed, fhir.CodeStructure, "",
		"the request body could not be read")
}
