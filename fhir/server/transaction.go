package server

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// transaction validates every entry, then commits all of them at once.
// Any problem answers 400 with every issue and commits nothing.
func (h *handler) transaction(w http.ResponseWriter, r *http.Request, key string, bundle *fhir.Value,
	entries []Entry, whole *fhir.OperationOutcome, per map[int]*fhir.OperationOutcome) {
	oo := whole
	for i := range entries {
		oo = oo.Merge(per[i])
	}
	if oo.HasErrors() {
		h.writeError(w, &apiError{status: http.StatusBadRequest, reason: reasonInvalid, oo: oo})
		return
	}
	req := &Request{Key: key, BodyHash: bundleBodyHash(key, bundle), Kind: KindTransaction, Entries: entries}
	req.Response = func(res *Result) (int, []byte) {
		return http.StatusOK, h.responseBundle("transaction-response", entries, res, nil)
	}
	h.commit(w, r, routeBundle, req, bundle)
}

// commit answers a request from its stored response when its key was
// seen, and otherwise commits it and sends req.Response of the result.
// bundle is the posted Bundle, named in the outcome of a reused key.
func (h *handler) commit(w http.ResponseWriter, r *http.Request, route string, req *Request, bundle *fhir.Value) {
	if h.replay(w, r, route, req, bundle) {
		return
	}
	status, body, err := h.commitOne(r, req)
	if errors.Is(err, ErrDuplicate) && h.replay(w, r, route, req, bundle) {
		return
	}
	if err != nil {
		h.writeError(w, h.requestError(r.Context(), route, bundle, err))
		return
	}
	writeJSON(w, status, body)
}

// commitOne commits req and renders its response once, whether or not the
// backend rendered it.
func (h *handler) commitOne(r *http.Request, req *Request) (int, []byte, error) {
	var (
		status int
		body   []byte
	)
	render := req.Response
	req.Response = func(res *Result) (int, []byte) {
		if body == nil {
			status, body = render(res)
		}
		return status, body
	}
	res, err := h.b.Commit(r.Context(), req)
	if err != nil {
		return 0, nil, err
	}
	if res == nil || len(res.Entries) != len(req.Entries) {
		return 0, nil, errors.New("committing: backend returned a result of the wrong length")
	}
	status, body = req.Response(res)
	return status, body, nil
}

// replay sends the response stored under req.Key, if any, and reports
// whether it did (also when the lookup failed, or found the key reused for
// another body, and an error was sent).
func (h *handler) replay(w http.ResponseWriter, r *http.Request, route string, req *Request, bundle *fhir.Value) bool {
	if req.Key == "" {
		return false
	}
	status, body, ok, err := h.b.Seen(r.Context(), req.Key, req.BodyHash)
	if err != nil {
		h.writeError(w, h.requestError(r.Context(), route, bundle, err))
		return true
	}
	if !ok {
		return false
	}
	h.logger(r.Context()).InfoContext(r.Context(), "idempotent replay", "route", route, "status", status)
	if route == routeType {
		setResourceHeaders(w, body)
	}
	writeJSON(w, status, body)
	return true
}

// responseBundle renders a transaction-response or batch-response.
// fixed holds, for batch entries answered without a commit, their
// response entry.
func (h *handler) responseBundle(typ string, entries []Entry, res *Result, fixed map[int]*fhir.Value) []byte {
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString(typ))
	items := make([]*fhir.Value, len(entries))
	for i := range entries {
		if f := fixed[i]; f != nil {
			items[i] = f
			continue
		}
		items[i] = responseEntry(&entries[i], &res.Entries[i])
	}
	b.Set("entry", fhir.NewArray(items...))
	return b.JSON()
}

// responseEntry renders the Bundle.entry of a committed entry.
func responseEntry(e *Entry, er *EntryResult) *fhir.Value {
	resp := fhir.NewObject()
	st := er.status()
	resp.Set("status", fhir.NewString(strconv.Itoa(st)+" "+http.StatusText(st)))
	if er.ID != "" && e.Method != "DELETE" {
		loc := e.Type + "/" + er.ID
		if er.Version > 0 {
			loc += "/_history/" + strconv.Itoa(er.Version)
		}
		resp.Set("location", fhir.NewString(loc))
	}
	if er.Version > 0 {
		resp.Set("etag", fhir.NewString(etag(er.Version)))
	}
	if !er.LastModified.IsZero() {
		resp.Set("lastModified", fhir.NewString(er.LastModified.UTC().Format(time.RFC3339)))
	}
	if er.Outcome != nil {
		resp.Set("outcome", outcomeValue(er.Outcome))
	}
	ent := fhir.NewObject()
	if e.FullURL != "" {
		ent.Set("fullUrl", fhir.NewString(e.FullURL))
	}
	ent.Set("response", resp)
	return ent
}

// errorEntry renders the Bundle.entry of a failed batch entry.
func errorEntry(e *apiError) *fhir.Value {
	resp := fhir.NewObject()
	resp.Set("status", fhir.NewString(strconv.Itoa(e.status)+" "+http.StatusText(e.status)))
	resp.Set("outcome", outcomeValue(e.oo))
	ent := fhir.NewObject()
	ent.Set("response", resp)
	return ent
}

// outcomeValue returns oo as a Value to embed.
func outcomeValue(oo *fhir.OperationOutcome) *fhir.Value {
	v, err := fhir.Decode(oo.JSON(), fhir.DecodeOptions{})
	if err != nil {
		return fhir.NewObject() // unreachable: JSON() is valid JSON
	}
	return v
}

// etag returns the weak ETag of a version.
func etag(version int) string { return `W/"` + strconv.Itoa(version) + `"` }
