package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// slot waits up to DecodeWait for one of the MaxDecodes decoding slots,
// which bound the memory spent on decoding and validating bodies at once.
// It returns the release function (safe to call more than once), or a
// 503 when no slot freed in time or the client went away.
func (h *handler) slot(r *http.Request) (release func(), e *apiError) {
	busy := newError(http.StatusServiceUnavailable, reasonBusy, "transient", "",
		"the server is busy decoding other requests; nothing was stored; retry later")
	select {
	case h.decodes <- struct{}{}:
	default:
		t := time.NewTimer(h.opt.DecodeWait)
		defer t.Stop()
		select {
		case h.decodes <- struct{}{}:
		case <-t.C:
			return nil, busy
		case <-r.Context().Done():
			return nil, busy
		}
	}
	done := false
	return func() {
		if !done {
			done = true
			<-h.decodes
		}
	}, nil
}

// decode parses a body strictly and checks that it is a resource of type
// want. Errors name positions and element paths, never values; a body
// over MaxElements or MaxArray is answered 413.
func (h *handler) decode(data []byte, want string) (*fhir.Value, *apiError) {
	v, e := h.parse(data)
	if e != nil {
		return nil, e
	}
	switch rt := v.ResourceType(); {
	case v.Kind != fhir.Object:
		return nil, newError(http.StatusBadRequest, reasonInvalid, fhir.CodeStructure, "",
			"the body must be a JSON object holding a FHIR resource")
	case rt == "":
		return nil, newError(http.StatusBadRequest, reasonInvalid, fhir.CodeRequired, want+".resourceType",
			"resourceType is missing")
	case rt != want:
		return nil, newError(http.StatusBadRequest, reasonInvalid, fhir.CodeInvalid, "resourceType",
			"resourceType does not match the URL")
	}
	return v, nil
}

// parse decodes a body strictly within the JSON limits of Options: 413
// over MaxElements or MaxArray, 400 for anything else that is not JSON.
func (h *handler) parse(data []byte) (*fhir.Value, *apiError) {
	v, err := fhir.Decode(data, fhir.DecodeOptions{MaxDepth: h.opt.MaxDepth,
		MaxElements: h.opt.MaxElements, MaxArray: h.opt.MaxArray})
	var se *fhir.SyntaxError
	if errors.Is(err, fhir.ErrLimit) && errors.As(err, &se) {
		return nil, &apiError{status: http.StatusRequestEntityTooLarge, reason: reasonTooComplex,
			oo: (*fhir.OperationOutcome)(nil).Add("too-costly", se.Path, se.Error())}
	}
	if err != nil {
		return nil, &apiError{status: http.StatusBadRequest, reason: reasonSyntax, oo: fhir.FromError(err)}
	}
	return v, nil
}

// validate runs fhir.Validate on a top-level resource.
func validate(v *fhir.Value) *apiError {
	if oo := fhir.Validate(v, ""); oo.HasErrors() {
		return &apiError{status: http.StatusBadRequest, reason: reasonInvalid, oo: oo}
	}
	return nil
}

// create serves POST /fhir/{type}, with If-None-Exist for a conditional
// create. A repeat of the same body (and If-None-Exist) replays the first
// response.
func (h *handler) create(w http.ResponseWriter, r *http.Request, typ string) {
	data, e := h.readBody(w, r)
	var release func()
	if e == nil {
		release, e = h.slot(r)
	}
	if e == nil {
		defer release()
		var v *fhir.Value
		if v, e = h.decode(data, typ); e == nil {
			if e = validate(v); e == nil {
				release()
				ine := r.Header.Get("If-None-Exist")
				sum := sha256.New()
				sum.Write([]byte("POST /fhir/" + typ + "\n" + ine + "\n"))
				sum.Write(data)
				key := "sha256:" + hex.EncodeToString(sum.Sum(nil))
				ent := Entry{Method: "POST", Type: typ, IfNoneExist: ine, Resource: v}
				h.single(w, r, routeType, key, ent)
				return
			}
		}
	}
	h.writeError(w, e)
}

// update serves PUT /fhir/{type}/{id}; the resource id must equal id.
// An If-Match header makes it conditional on the current version (412
// when another version is current).
func (h *handler) update(w http.ResponseWriter, r *http.Request, typ, id string) {
	if !fhir.ValidID(id) {
		h.writeError(w, newError(http.StatusBadRequest, "", fhir.CodeValue, "", "the id in the URL is not a valid FHIR id"))
		return
	}
	im, e := ifMatchHeader(r)
	var data []byte
	if e == nil {
		data, e = h.readBody(w, r)
	}
	var release func()
	if e == nil {
		release, e = h.slot(r)
	}
	if e == nil {
		defer release()
		var v *fhir.Value
		if v, e = h.decode(data, typ); e == nil {
			if v.GetString("id") != id {
				e = newError(http.StatusBadRequest, reasonInvalid, fhir.CodeInvalid, typ+".id",
					"the resource id must equal the id in the URL")
			} else if e = validate(v); e == nil {
				release()
				h.single(w, r, routeInstance, "", Entry{Method: "PUT", Type: typ, ID: id, Resource: v, IfMatch: im})
				return
			}
		}
	}
	h.writeError(w, e)
}

// single commits one resource and answers as FHIR create and update do.
func (h *handler) single(w http.ResponseWriter, r *http.Request, route, key string, ent Entry) {
	req := &Request{Key: key, Kind: KindSingle, Entries: []Entry{ent}}
	req.Response = func(res *Result) (int, []byte) {
		er := &res.Entries[0]
		return er.status(), representation(ent.Resource, er).JSON()
	}
	if h.replay(w, r, route, req, nil) {
		return
	}
	status, body, err := h.commitOne(r, req)
	if err != nil && errorsIsDuplicate(err) && h.replay(w, r, route, req, nil) {
		return
	}
	if err != nil {
		h.writeError(w, h.backendError(r.Context(), route, err))
		return
	}
	setResourceHeaders(w, body)
	switch prefer(r) {
	case "minimal":
		body = nil
	case "OperationOutcome":
		body = (&fhir.OperationOutcome{}).JSON()
	}
	writeJSON(w, status, body)
}

// prefer returns the "return" preference of the Prefer header.
func prefer(r *http.Request) string {
	for _, p := range strings.Split(r.Header.Get("Prefer"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "return="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// representation returns res as stored: a shallow copy with the id and
// meta.versionId and meta.lastUpdated of the result.
func representation(res *fhir.Value, er *EntryResult) *fhir.Value {
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), res.Members...)}
	meta := &fhir.Value{Kind: fhir.Object}
	if old := res.Get("meta"); old != nil && old.Kind == fhir.Object {
		meta.Members = append(meta.Members, old.Members...)
	}
	if er.Version > 0 {
		meta.Set("versionId", fhir.NewString(strconv.Itoa(er.Version)))
	}
	if !er.LastModified.IsZero() {
		meta.Set("lastUpdated", fhir.NewString(er.LastModified.UTC().Format(time.RFC3339Nano)))
	}
	if er.ID != "" {
		out.Set("id", fhir.NewString(er.ID))
	}
	if len(meta.Members) > 0 {
		out.Set("meta", meta)
	}
	return out
}

// setResourceHeaders sets Location, ETag and Last-Modified from a stored
// resource body.
func setResourceHeaders(w http.ResponseWriter, body []byte) {
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil || v.Kind != fhir.Object {
		return
	}
	typ, id := v.ResourceType(), v.GetString("id")
	vid := v.Get("meta").GetString("versionId")
	if typ != "" && fhir.ValidID(id) {
		loc := "/fhir/" + typ + "/" + id
		if fhir.ValidID(vid) {
			loc += "/_history/" + vid
		}
		w.Header().Set("Location", loc)
	}
	if n, err := strconv.Atoi(vid); err == nil && n > 0 {
		w.Header().Set("ETag", etag(n))
	}
	if t, err := time.Parse(time.RFC3339Nano, v.Get("meta").GetString("lastUpdated")); err == nil {
		w.Header().Set("Last-Modified", t.UTC().Format(http.TimeFormat))
	}
}

// read serves GET /fhir/{type}/{id} with ETag and Last-Modified, and 304
// to a matching If-None-Match (and If-Modified-Since, from a Versioned
// backend).
func (h *handler) read(w http.ResponseWriter, r *http.Request, typ, id string) {
	if !fhir.ValidID(id) {
		h.writeError(w, newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "resource not found"))
		return
	}
	if vb, ok := h.b.(Versioned); ok {
		h.readVersioned(w, r, vb, routeInstance, typ, id, 0)
		return
	}
	body, version, err := h.b.Read(r.Context(), typ, id)
	if err != nil {
		h.writeError(w, h.backendError(r.Context(), routeInstance, err))
		return
	}
	if nm, e := notModified(r, version, time.Time{}); e != nil {
		h.writeError(w, e)
		return
	} else if nm {
		writeNotModified(w, version, time.Time{})
		return
	}
	setResourceHeaders(w, body)
	if version > 0 {
		w.Header().Set("ETag", etag(version))
	}
	w.Header().Del("Location")
	writeJSON(w, http.StatusOK, body)
}
