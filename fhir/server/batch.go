package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// batch commits each valid entry on its own under the key
// "<bundle key>#entry/<i>", so that a retried batch replays the entries
// already committed and commits only the others. Invalid entries get a 4xx
// with their outcome. Every entry is looked up before any is committed, so
// that a Bundle.identifier reused for a different Bundle stops the batch
// with 409 and nothing committed (but for a concurrent twin that commits
// between the lookup and an entry's commit: the batch then stops at that
// entry, keeping those committed before it). A backend that is unavailable
// stops the batch with 503: entries committed before it are replayed on
// the retry.
func (h *handler) batch(w http.ResponseWriter, r *http.Request, key string, bundle *fhir.Value,
	entries []Entry, per map[int]*fhir.OperationOutcome) {
	fixed := make(map[int]*fhir.Value, len(entries))
	res := &Result{Entries: make([]EntryResult, len(entries))}
	hash := bundleBodyHash(key, bundle)
	var pending []int
	for i := range entries {
		if per[i].HasErrors() {
			fixed[i] = errorEntry(&apiError{status: http.StatusBadRequest, oo: per[i]})
			h.m.reject(reasonInvalid)
			continue
		}
		v, ok, err := h.seenEntry(r, entryKey(key, i), hash)
		if err == nil && !ok {
			pending = append(pending, i)
			continue
		}
		if e := h.settle(r.Context(), fixed, i, v, err, bundle); e != nil {
			h.writeError(w, e)
			return
		}
	}
	for _, i := range pending {
		v, err := h.batchEntry(r, entryKey(key, i), hash, &entries[i])
		if e := h.settle(r.Context(), fixed, i, v, err, bundle); e != nil {
			h.writeError(w, e)
			return
		}
	}
	writeJSON(w, http.StatusOK, h.responseBundle("batch-response", entries, res, fixed))
}

// entryKey is the idempotency key of entry i of the batch with key key.
func entryKey(key string, i int) string { return key + "#entry/" + strconv.Itoa(i) }

// settle records the response entry v of batch entry i in fixed, or the
// outcome of err, and returns the error that stops the whole batch
// instead: a reused Bundle.identifier (409) or an unavailable backend
// (503).
func (h *handler) settle(ctx context.Context, fixed map[int]*fhir.Value, i int, v *fhir.Value, err error, bundle *fhir.Value) *apiError {
	if err == nil {
		fixed[i] = v
		return nil
	}
	if errors.Is(err, ErrKeyReused) {
		return h.reusedKey(ctx, routeBundle, bundle)
	}
	e := h.entryError(ctx, err)
	if e.status == http.StatusServiceUnavailable {
		return e
	}
	fixed[i] = errorEntry(e)
	return nil
}

// batchEntry commits one batch entry, not seen before, and returns its
// response entry (the stored one when a concurrent twin committed first).
func (h *handler) batchEntry(r *http.Request, key, hash string, e *Entry) (*fhir.Value, error) {
	req := &Request{Key: key, BodyHash: hash, Kind: KindBatch, Entries: []Entry{*e}}
	req.Response = func(res *Result) (int, []byte) {
		return res.Entries[0].status(), responseEntry(e, &res.Entries[0]).JSON()
	}
	_, body, err := h.commitOne(r, req)
	if errors.Is(err, ErrDuplicate) {
		if v, ok, err := h.seenEntry(r, key, hash); err != nil || ok {
			return v, err
		}
	}
	if err != nil {
		return nil, err
	}
	return fhir.Decode(body, fhir.DecodeOptions{})
}

// seenEntry looks up the stored response entry of a batch entry.
func (h *handler) seenEntry(r *http.Request, key, hash string) (*fhir.Value, bool, error) {
	_, body, ok, err := h.b.Seen(r.Context(), key, hash)
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
func (h *handler) entryError(ctx context.Context, err error) *apiError {
	if err == nil {
		return nil
	}
	return h.backendError(ctx, routeBundle, err)
}
