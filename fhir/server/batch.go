package server

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// batch commits each valid entry on its own under the key
// "<bundle key>#entry/<i>", so that a retried batch replays the entries
// already committed and commits only the others. Invalid entries get a 4xx
// with their outcome. A backend that is unavailable stops the batch with
// 503: entries committed before it are replayed on the retry.
func (h *handler) batch(w http.ResponseWriter, r *http.Request, key string,
	entries []Entry, per map[int]*fhir.OperationOutcome) {
	fixed := make(map[int]*fhir.Value, len(entries))
	res := &Result{Entries: make([]EntryResult, len(entries))}
	for i := range entries {
		if per[i].HasErrors() {
			fixed[i] = errorEntry(&apiError{status: http.StatusBadRequest, oo: per[i]})
			h.m.reject(reasonInvalid)
			continue
		}
		ent, e := h.batchEntry(r, key+"#entry/"+strconv.Itoa(i), &entries[i])
		if e != nil && e.status == http.StatusServiceUnavailable {
			h.writeError(w, e)
			return
		}
		if e != nil {
			fixed[i] = errorEntry(e)
			continue
		}
		fixed[i] = ent
	}
	writeJSON(w, http.StatusOK, h.responseBundle("batch-response", entries, res, fixed))
}

// batchEntry replays or commits one batch entry and returns its response
// entry.
func (h *handler) batchEntry(r *http.Request, key string, e *Entry) (*fhir.Value, *apiError) {
	if v, ok, err := h.seenEntry(r, key); err != nil || ok {
		return v, h.entryError(err)
	}
	req := &Request{Key: key, Kind: KindBatch, Entries: []Entry{*e}}
	req.Response = func(res *Result) (int, []byte) {
		return res.Entries[0].status(), responseEntry(e, &res.Entries[0]).JSON()
	}
	_, body, err := h.commitOne(r, req)
	if errors.Is(err, ErrDuplicate) {
		if v, ok, err := h.seenEntry(r, key); err != nil || ok {
			return v, h.entryError(err)
		}
	}
	if err != nil {
		return nil, h.entryError(err)
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		return nil, h.entryError(err)
	}
	return v, nil
}

// seenEntry looks up the stored response entry of a batch entry.
func (h *handler) seenEntry(r *http.Request, key string) (*fhir.Value, bool, error) {
	_, body, ok, err := h.b.Seen(r.Context(), key)
	if err != nil || !ok {
		return nil, false, err
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// entryError maps a backend error of one batch entry (nil when none).
func (h *handler) entryError(err error) *apiError {
	if err == nil {
		return nil
	}
	return h.backendError(routeBundle, err)
}
