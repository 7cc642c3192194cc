package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Errors of deletion and of conditional writes a Backend wraps (with %w);
// see the other classes in backend.go.
var (
	// ErrGone means the resource was deleted (Read of a resource whose
	// current version is a deletion). The server answers 410.
	ErrGone = errors.New("resource deleted")
	// ErrMultipleMatches means the condition of a conditional update or
	// delete (Entry.Condition) matched more than one resource; nothing was
	// committed. The server answers 412.
	ErrMultipleMatches = errors.New("the condition matched more than one resource")
	// ErrIDMismatch means a conditional update's resource carries an id
	// other than the one of the resource its condition matched; nothing
	// was committed. The server answers 400.
	ErrIDMismatch = errors.New("the resource id differs from the matched resource")
)

// deleteInstance serves DELETE /fhir/{type}/{id}; If-Match makes it
// conditional on the current version (412 otherwise).
func (h *handler) deleteInstance(w http.ResponseWriter, r *http.Request, typ, id string) {
	if !fhir.ValidID(id) {
		h.writeError(w, newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "resource not found"))
		return
	}
	im, e := ifMatchHeader(r)
	if e != nil {
		h.writeError(w, e)
		return
	}
	h.remove(w, r, routeInstance, Entry{Method: "DELETE", Type: typ, ID: id, IfMatch: im})
}

// remove commits one deletion and answers 204 No Content, with the ETag
// of the deletion's version when there is one. A deletion is a new
// version marked deleted, which the Backend routes like any other change;
// deleting a deleted resource again, or a condition that matches nothing,
// changes nothing and is answered 204 too (a retry of a delete whose
// reply was lost succeeds); a resource never stored is 404.
func (h *handler) remove(w http.ResponseWriter, r *http.Request, route string, ent Entry) {
	req := &Request{Kind: KindSingle, Entries: []Entry{ent}}
	req.Response = func(*Result) (int, []byte) { return http.StatusNoContent, nil }
	res, err := h.b.Commit(r.Context(), req)
	if err == nil && (res == nil || len(res.Entries) != 1) {
		err = errors.New("deleting: backend returned a result of the wrong length")
	}
	if err != nil {
		h.writeError(w, h.backendError(r.Context(), route, err))
		return
	}
	er := res.Entries[0]
	if er.ID == "" {
		h.logger(r.Context()).InfoContext(r.Context(), "conditional delete matched nothing", "route", route, "type", ent.Type)
	} else {
		// The id may be the sender's (PUT) and hold a record number: the
		// log carries the first 12 hex digits of its SHA-256, enough to
		// find the resource, never the id itself.
		sum := sha256.Sum256([]byte(er.ID))
		h.logger(r.Context()).InfoContext(r.Context(), "resource deleted", "route", route, "type", ent.Type,
			"id_sha256", hex.EncodeToString(sum[:6]), "version", er.Version)
	}
	if er.Version > 0 {
		w.Header().Set("ETag", etag(er.Version))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// checkDeleteEntry completes e, the DELETE Bundle entry be (request.url
// Type/id, or Type?condition; no resource), and reports what is wrong.
func (h *handler) checkDeleteEntry(be *fhir.BundleEntry, e Entry) (Entry, *fhir.OperationOutcome) {
	p := be.Path()
	var oo *fhir.OperationOutcome
	e.Resource = nil
	path, query, conditional := strings.Cut(be.URL, "?")
	typ, id, instance := strings.Cut(path, "/")
	e.Type = typ
	switch {
	case !h.types[typ]:
		return e, oo.Add("not-supported", p+".request.url", "resource type not supported by this server")
	case conditional && !instance:
		cond, err := ParseCondition(query)
		if err != nil {
			return e, oo.Add("not-supported", p+".request.url", conditionMessage(err))
		}
		e.Condition = cond
	case !conditional && instance && fhir.ValidID(id):
		e.ID = id
	default:
		return e, oo.Add(fhir.CodeInvalid, p+".request.url",
			"the request.url of a DELETE must be Type/id or Type?condition")
	}
	return e, oo
}
