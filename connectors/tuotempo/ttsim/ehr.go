package ttsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxEHRBody bounds a request body the EHR reads, in bytes.
const MaxEHRBody = 8 << 20

// DefaultEHRToken is the bearer token the sandbox's EHR accepts.
const DefaultEHRToken = "sandbox-ehr-token"

// EHRRequest is one entry of the EHR's request log: no body.
type EHRRequest struct {
	Method, Path string
	Status       int
}

// resource is one stored resource.
type resource struct {
	body    map[string]any
	version int
}

// EHR is a small FHIR R4 server standing in for the hospital's EHR, an
// http.Handler safe for concurrent use. Every request needs
// "Authorization: Bearer <token>" (401 otherwise). It serves:
//
//	POST /                 a transaction Bundle: entries POST {type}
//	                       (create; request.ifNoneExist "identifier=sys|val"
//	                       makes it conditional: one match answers 200 with
//	                       the match, two or more 412) and PUT {type}/{id}
//	                       (update or create); all or nothing; answers a
//	                       transaction-response Bundle (201/200, location
//	                       {type}/{id}/_history/{v}); references to an
//	                       entry's fullUrl are rewritten to the id given
//	PUT  /{type}/{id}      update or create (201/200, Location)
//	GET  /{type}/{id}      read
//	GET  /Slot?…           searchset of Slots, with status, schedule and
//	                       start (ge/gt/le/lt prefixes) filters and
//	                       _include=Slot:schedule; other parameters are
//	                       ignored
//
// It keeps every resource in memory: what it was seeded with and what it
// was sent. Created resources get ids ehr-1, ehr-2, …
type EHR struct {
	listener
	token string
	mu    sync.Mutex
	res   map[string]*resource // "Type/id"
	next  int
	log   []EHRRequest
}

// NewEHR returns an empty EHR that accepts token (DefaultEHRToken when
// empty).
func NewEHR(token string) *EHR {
	if token == "" {
		token = DefaultEHRToken
	}
	return &EHR{token: token, res: map[string]*resource{}}
}

// Start serves on addr ("127.0.0.1:0" for any free port) and returns the
// FHIR base URL.
func (e *EHR) Start(addr string) (string, error) { return e.start(addr, e) }

// Token is the bearer token the EHR accepts.
func (e *EHR) Token() string { return e.token }

// Seed stores a resource, or every entry's resource of a Bundle (which
// need ids), as they are.
func (e *EHR) Seed(raw []byte) error {
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("seeding the EHR: %w", err)
	}
	list := []map[string]any{v}
	if v["resourceType"] == "Bundle" {
		list = nil
		for _, en := range entries(v) {
			if r, ok := en["resource"].(map[string]any); ok {
				list = append(list, r)
			}
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, r := range list {
		typ, id := str(r, "resourceType"), str(r, "id")
		if !validType(typ) || !validID(id) {
			return fmt.Errorf("seeding the EHR: resource %d has no type or id", i)
		}
		e.put(typ, id, r)
	}
	return nil
}

// Holds reports whether the EHR has typ/id.
func (e *EHR) Holds(typ, id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.res[typ+"/"+id] != nil
}

// Last returns the stored typ/id as JSON (with meta.versionId), nil when
// it has none.
func (e *EHR) Last(typ, id string) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.res[typ+"/"+id]
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r.body)
	return b
}

// Status returns the status element of the stored typ/id ("booked",
// "cancelled", "busy", "free"), "" when it has none.
func (e *EHR) Status(typ, id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.res[typ+"/"+id]; r != nil {
		return str(r.body, "status")
	}
	return ""
}

// Version returns typ/id's version, 0 when it has none.
func (e *EHR) Version(typ, id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.res[typ+"/"+id]; r != nil {
		return r.version
	}
	return 0
}

// Find returns the ids of the typ resources with identifier system|value,
// sorted.
func (e *EHR) Find(typ, system, value string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.find(typ, system, value)
}

// Requests returns the request log.
func (e *EHR) Requests() []EHRRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// ServeHTTP implements http.Handler.
func (e *EHR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	e.serve(rec, r)
	e.mu.Lock()
	e.log = append(e.log, EHRRequest{Method: r.Method, Path: r.URL.Path, Status: rec.status})
	e.mu.Unlock()
}

func (e *EHR) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/metadata" { // the capability statement, open as on real servers
		w.Header().Set("Content-Type", "application/fhir+json")
		fmt.Fprint(w, `{"resourceType":"CapabilityStatement","status":"active","date":"2026-12-01","kind":"instance","fhirVersion":"4.0.1","format":["json"],"rest":[{"mode":"server","interaction":[{"code":"transaction"}],"resource":[{"type":"Patient"},{"type":"Appointment"},{"type":"Slot"},{"type":"Schedule"}]}]}`)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !same(tok, e.token) {
		outcome(w, http.StatusUnauthorized, "security", "missing or wrong bearer token")
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/":
		e.transaction(w, r)
	case r.Method == http.MethodPut && len(parts) == 2:
		e.update(w, r, parts[0], parts[1])
	case r.Method == http.MethodGet && len(parts) == 2:
		e.read(w, parts[0], parts[1])
	case r.Method == http.MethodGet && r.URL.Path == "/Slot":
		e.searchSlots(w, r)
	default:
		outcome(w, http.StatusNotFound, "not-supported", "not served by this EHR")
	}
}

// readBody reads a JSON resource body, bounded.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEHRBody))
	if err != nil {
		return nil, errors.New("the body is unreadable or too large")
	}
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil || v == nil {
		return nil, errors.New("the body is not a JSON object")
	}
	return v, nil
}

func (e *EHR) update(w http.ResponseWriter, r *http.Request, typ, id string) {
	if !validType(typ) || !validID(id) {
		outcome(w, http.StatusBadRequest, "invalid", "not a resource type and id")
		return
	}
	v, err := readBody(w, r)
	if err != nil {
		outcome(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	if str(v, "resourceType") != typ || str(v, "id") != id {
		outcome(w, http.StatusBadRequest, "invalid", "the body's resourceType and id are not the URL's")
		return
	}
	e.mu.Lock()
	created := e.res[typ+"/"+id] == nil
	ver := e.put(typ, id, v)
	b, _ := json.Marshal(v)
	e.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/%s/_history/%d", typ, id, ver))
	w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, ver))
	writeJSON(w, map[bool]int{true: http.StatusCreated, false: http.StatusOK}[created], b)
}

func (e *EHR) read(w http.ResponseWriter, typ, id string) {
	b := e.Last(typ, id)
	if b == nil {
		outcome(w, http.StatusNotFound, "not-found", "no such resource")
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// put stores v as typ/id (under e.mu) and returns its version.
func (e *EHR) put(typ, id string, v map[string]any) int {
	key := typ + "/" + id
	ver := 1
	if old := e.res[key]; old != nil {
		ver = old.version + 1
	}
	meta, _ := v["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["versionId"] = strconv.Itoa(ver)
	v["meta"] = meta
	e.res[key] = &resource{body: v, version: ver}
	return ver
}

// find returns the ids of typ with identifier system|value (under e.mu).
func (e *EHR) find(typ, system, value string) []string {
	var ids []string
	for key, r := range e.res {
		t, id, _ := strings.Cut(key, "/")
		if t != typ {
			continue
		}
		ids1, _ := r.body["identifier"].([]any)
		for _, x := range ids1 {
			ident, _ := x.(map[string]any)
			if str(ident, "value") == value && (system == "" || str(ident, "system") == system) {
				ids = append(ids, id)
				break
			}
		}
	}
	slices.Sort(ids)
	return ids
}

var (
	typeRE = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)
	idRE   = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
)

func validType(s string) bool { return typeRE.MatchString(s) }
func validID(s string) bool   { return idRE.MatchString(s) }

// str returns m[k] as a string, "" otherwise.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// entries returns a Bundle's entries as objects.
func entries(b map[string]any) []map[string]any {
	list, _ := b["entry"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		} else {
			out = append(out, map[string]any{})
		}
	}
	return out
}

// outcome answers an OperationOutcome.
func outcome(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"resourceType": "OperationOutcome", "issue": []any{
		map[string]any{"severity": "error", "code": code, "diagnostics": msg}}})
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// parseIfNoneExist reads "identifier=[system|]value", the one search
// ifNoneExist supports.
func parseIfNoneExist(q string) (system, value string, err error) {
	v, err := url.ParseQuery(q)
	if err != nil || len(v) != 1 || len(v["identifier"]) != 1 {
		return "", "", errors.New("ifNoneExist supports identifier=system|value only")
	}
	id := v.Get("identifier")
	if s, val, ok := strings.Cut(id, "|"); ok {
		system, value = s, val
	} else {
		value = id
	}
	if value == "" {
		return "", "", errors.New("ifNoneExist names no identifier value")
	}
	return system, value, nil
}
