package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Route names of the version interactions (metric labels, log lines).
const (
	routeVread   = "vread"   // GET /fhir/{type}/{id}/_history/{vid}
	routeHistory = "history" // GET /fhir/{type}/{id}/_history, GET /fhir/{type}/_history
)

// History paging bounds.
const (
	defaultHistoryCount = 50
	maxHistoryCount     = 1000
	maxCursorLen        = 256 // bytes of a _cursor value
	maxSinceLen         = 64  // bytes of a _since value
)

// Versioned is implemented by a Backend that keeps every version of a
// resource. The server then serves vread and the instance and type
// _history interactions, and answers If-Modified-Since on reads; without
// it those routes answer 404 and the CapabilityStatement does not list
// them. Methods are called concurrently and must honour ctx.
type Versioned interface {
	// ReadVersion returns version (≥ 1) of typ/id, or its current version
	// when version is 0; an error wrapping ErrNotFound when the resource
	// or that version does not exist.
	ReadVersion(ctx context.Context, typ, id string, version int) (*Version, error)
	// History returns at most q.Count versions selected by q, ordered by
	// (LastUpdated, ID, Version) descending, i.e. newest first; for one
	// resource, by Version descending. The history of one resource that
	// was never stored is an error wrapping ErrNotFound; an empty page is
	// not an error otherwise.
	History(ctx context.Context, q HistoryQuery) ([]Version, error)
}

// Version is one stored version of a resource.
type Version struct {
	// ID is the resource id and Version the version number (≥ 1).
	ID      string
	Version int
	// Body is the resource JSON as stored (the server sets meta.versionId
	// and meta.lastUpdated when it serves it).
	Body []byte
	// LastUpdated is when the version was stored.
	LastUpdated time.Time
	// Deleted marks a deletion: a history lists it as a DELETE entry
	// without a resource (Body is not served).
	Deleted bool
}

// HistoryQuery selects one page of versions of Type: of the resource ID,
// or of every resource of Type when ID is "".
type HistoryQuery struct {
	Type, ID string
	// Count is the most versions to return (≥ 1).
	Count int
	// Since keeps the versions stored at or after it (zero: all).
	Since time.Time
	// After, when not nil, continues after this version (the last one of
	// the previous page; its Body is nil): only versions after it in the
	// order History returns.
	After *Version
}

// readVersioned serves GET /fhir/{type}/{id} (vid 0) and vread (vid ≥ 1)
// from a Versioned backend, answering 304 to a matching If-None-Match or
// If-Modified-Since.
func (h *handler) readVersioned(w http.ResponseWriter, r *http.Request, vb Versioned, route, typ, id string, vid int) {
	v, err := vb.ReadVersion(r.Context(), typ, id, vid)
	if err == nil && (v == nil || v.Version < 1 || (vid > 0 && v.Version != vid)) {
		err = errors.New("reading a version: backend returned another version")
	}
	if err != nil {
		h.writeError(w, h.backendError(r.Context(), route, err))
		return
	}
	if nm, e := notModified(r, v.Version, v.LastUpdated); e != nil {
		h.writeError(w, e)
		return
	} else if nm {
		writeNotModified(w, v.Version, v.LastUpdated)
		return
	}
	res, err := versionResource(v, id)
	if err != nil {
		h.writeError(w, h.backendError(r.Context(), route, err))
		return
	}
	body := res.JSON()
	setResourceHeaders(w, body)
	w.Header().Del("Location")
	writeJSON(w, http.StatusOK, body)
}

// versionResource decodes a stored version and sets its id and meta.
func versionResource(v *Version, id string) (*fhir.Value, error) {
	res, err := fhir.Decode(v.Body, fhir.DecodeOptions{})
	if err != nil || res.Kind != fhir.Object {
		return nil, errors.New("reading a version: the stored body is not a JSON object")
	}
	return representation(res, &EntryResult{ID: id, Version: v.Version, LastModified: v.LastUpdated}), nil
}

// versionRoute serves the routes under {type}/_history and
// {type}/{id}/_history (segs as split from the path, segs[0] the type).
func (h *handler) versionRoute(w http.ResponseWriter, r *http.Request, segs []string) {
	switch len(segs) {
	case 2:
		h.history(w, r, segs[0], "")
	case 3:
		h.history(w, r, segs[0], segs[1])
	default:
		h.vread(w, r, segs[0], segs[1], segs[3])
	}
}

// vread serves GET /fhir/{type}/{id}/_history/{vid}.
func (h *handler) vread(w http.ResponseWriter, r *http.Request, typ, id, vid string) {
	vb, ok := h.b.(Versioned)
	switch {
	case !ok:
		h.writeError(w, newError(http.StatusNotFound, "", "not-supported", "", "this server keeps no version history"))
		return
	case !fhir.ValidID(id):
		h.writeError(w, newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "resource not found"))
		return
	}
	n, err := parseETag(`"` + vid + `"`)
	if err != nil {
		h.writeError(w, newError(http.StatusBadRequest, "", fhir.CodeValue, "",
			"the version id in the URL must be a positive integer"))
		return
	}
	h.readVersioned(w, r, vb, routeVread, typ, id, n)
}

// history serves GET /fhir/{type}/{id}/_history (id != "") and
// GET /fhir/{type}/_history: a Bundle of type history, newest first, with
// _count (default 50, at most 1000), _since and a next link carrying an
// opaque _cursor.
func (h *handler) history(w http.ResponseWriter, r *http.Request, typ, id string) {
	vb, ok := h.b.(Versioned)
	switch {
	case !ok:
		h.writeError(w, newError(http.StatusNotFound, "", "not-supported", "", "this server keeps no version history"))
		return
	case id != "" && !fhir.ValidID(id):
		h.writeError(w, newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "resource not found"))
		return
	}
	q, e := parseHistoryQuery(r.URL.RawQuery, typ, id)
	if e != nil {
		h.writeError(w, e)
		return
	}
	want := q.Count
	q.Count++ // one more tells whether there is a next page
	versions, err := vb.History(r.Context(), q)
	if err != nil {
		h.writeError(w, h.backendError(r.Context(), routeHistory, err))
		return
	}
	q.Count = want
	var next *Version
	if len(versions) > want {
		versions = versions[:want]
		last := versions[want-1]
		next = &Version{ID: last.ID, Version: last.Version, LastUpdated: last.LastUpdated}
	}
	base := requestBase(r)
	entries := make([]*fhir.Value, 0, len(versions))
	for i := range versions {
		v := &versions[i]
		if v.Version < 1 || !fhir.ValidID(v.ID) || (id != "" && v.ID != id) {
			h.writeError(w, h.backendError(r.Context(), routeHistory, errors.New("history: backend returned a malformed version")))
			return
		}
		var res *fhir.Value
		if !v.Deleted {
			var err error
			if res, err = versionResource(v, v.ID); err != nil {
				h.writeError(w, h.backendError(r.Context(), routeHistory, err))
				return
			}
		}
		entries = append(entries, historyEntry(base, typ, v, res))
	}
	path := base + "/" + typ
	if id != "" {
		path += "/" + id
	}
	path += "/_history"
	links := []*fhir.Value{historyLink("self", path, q, q.After)}
	if next != nil {
		links = append(links, historyLink("next", path, q, next))
	}
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("history"))
	b.Set("link", fhir.NewArray(links...))
	if len(entries) > 0 {
		b.Set("entry", fhir.NewArray(entries...))
	}
	writeJSON(w, http.StatusOK, b.JSON())
}

// historyEntry renders one version as a history Bundle entry: version 1
// as its create (POST), a deletion as a DELETE without resource, later
// ones as updates (PUT).
func historyEntry(base, typ string, v *Version, res *fhir.Value) *fhir.Value {
	req := fhir.NewObject()
	resp := fhir.NewObject()
	switch {
	case v.Deleted:
		req.Set("method", fhir.NewString("DELETE"))
		req.Set("url", fhir.NewString(typ+"/"+v.ID))
		resp.Set("status", fhir.NewString("204 No Content"))
	case v.Version == 1:
		req.Set("method", fhir.NewString("POST"))
		req.Set("url", fhir.NewString(typ))
		resp.Set("status", fhir.NewString("201 Created"))
	default:
		req.Set("method", fhir.NewString("PUT"))
		req.Set("url", fhir.NewString(typ+"/"+v.ID))
		resp.Set("status", fhir.NewString("200 OK"))
	}
	resp.Set("location", fhir.NewString(typ+"/"+v.ID+"/_history/"+strconv.Itoa(v.Version)))
	resp.Set("etag", fhir.NewString(etag(v.Version)))
	if !v.LastUpdated.IsZero() {
		resp.Set("lastModified", fhir.NewString(v.LastUpdated.UTC().Format(time.RFC3339Nano)))
	}
	e := fhir.NewObject()
	e.Set("fullUrl", fhir.NewString(base+"/"+typ+"/"+v.ID))
	if res != nil {
		e.Set("resource", res)
	}
	e.Set("request", req)
	e.Set("response", resp)
	return e
}

// historyLink renders a Bundle.link to the page of q that starts after
// after (nil: the first page).
func historyLink(relation, path string, q HistoryQuery, after *Version) *fhir.Value {
	vals := url.Values{}
	vals.Set("_count", strconv.Itoa(q.Count))
	if !q.Since.IsZero() {
		vals.Set("_since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if after != nil {
		vals.Set("_cursor", encodeCursor(after))
	}
	l := fhir.NewObject()
	l.Set("relation", fhir.NewString(relation))
	l.Set("url", fhir.NewString(path+"?"+vals.Encode()))
	return l
}

// parseHistoryQuery reads the parameters of a history request: _count,
// _since and _cursor, each at most once; any other is a 400. id is the
// resource of an instance history ("" for a type history), which a
// cursor must belong to.
func parseHistoryQuery(raw, typ, id string) (HistoryQuery, *apiError) {
	q := HistoryQuery{Type: typ, ID: id, Count: defaultHistoryCount}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return q, newError(http.StatusBadRequest, "", fhir.CodeStructure, "", "the query string is malformed")
	}
	bad := func(param, text string) (HistoryQuery, *apiError) {
		return q, newError(http.StatusBadRequest, "", fhir.CodeInvalid, "", "history parameter "+param+": "+text)
	}
	for name, vs := range vals {
		switch name {
		case "_count", "_since", "_cursor":
		default:
			return q, newError(http.StatusBadRequest, "", "not-supported", "",
				"unknown history parameter; history supports: _count, _since, _cursor")
		}
		if len(vs) != 1 {
			return bad(name, "may appear once")
		}
	}
	if s, ok := vals["_count"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || len(s[0]) > 9 {
			return bad("_count", "must be a positive integer")
		}
		q.Count = min(n, maxHistoryCount)
	}
	if s, ok := vals["_since"]; ok {
		t, err := time.Parse(time.RFC3339Nano, s[0])
		if err != nil || len(s[0]) > maxSinceLen {
			return bad("_since", "must be a FHIR instant such as 2026-01-02T03:04:05Z")
		}
		q.Since = t
	}
	if s, ok := vals["_cursor"]; ok {
		c, err := parseCursor(s[0])
		if err != nil {
			return bad("_cursor", err.Error())
		}
		if id != "" && c.ID != id {
			return bad("_cursor", "the cursor belongs to another history")
		}
		q.After = c
	}
	return q, nil
}

// encodeCursor renders the position after v as an opaque _cursor:
// base64url of "<unix nanoseconds>.<version>.<id>".
func encodeCursor(v *Version) string {
	raw := strconv.FormatInt(v.LastUpdated.UnixNano(), 10) + "." + strconv.Itoa(v.Version) + "." + v.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// parseCursor reads a _cursor made by encodeCursor. Errors name the rule
// broken, never the value.
func parseCursor(s string) (*Version, error) {
	if len(s) > maxCursorLen {
		return nil, fmt.Errorf("longer than %d bytes", maxCursorLen)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	// the decoder skips line breaks: only the canonical form is ours
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != s {
		return nil, errors.New("not a cursor from a next link of this server")
	}
	parts := strings.SplitN(string(raw), ".", 3)
	if len(parts) != 3 {
		return nil, errors.New("not a cursor from a next link of this server")
	}
	ns, err1 := strconv.ParseInt(parts[0], 10, 64)
	version, err2 := parseETag(`"` + parts[1] + `"`)
	if err1 != nil || err2 != nil || !fhir.ValidID(parts[2]) ||
		strconv.FormatInt(ns, 10) != parts[0] {
		return nil, errors.New("not a cursor from a next link of this server")
	}
	return &Version{ID: parts[2], Version: version, LastUpdated: time.Unix(0, ns).UTC()}, nil
}
