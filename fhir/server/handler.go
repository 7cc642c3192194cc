package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Route names, used as metric labels and in log lines instead of the URL
// (which may carry ids or query values).
const (
	routeBundle   = "bundle"   // POST /fhir
	routeType     = "type"     // POST /fhir/{type}, conditional PUT|DELETE /fhir/{type}?…
	routeInstance = "instance" // GET|PUT|DELETE /fhir/{type}/{id}
	routeSearch   = "search"   // GET /fhir/{type}?…
	routeMetadata = "metadata" // GET /fhir/metadata
	routeHealthz  = "healthz"
	routeReadyz   = "readyz"
	routeMetrics  = "metrics"
	routeUnknown  = "unknown"
)

// handler is the http.Handler New returns.
type handler struct {
	b       Backend
	opt     Options
	types   map[string]bool
	tokens  tokenSet
	auth    bool
	log     *slog.Logger
	m       *metrics
	metricH http.Handler
	capStmt []byte
	decodes chan struct{} // one token per body being decoded (MaxDecodes)
}

// New returns the FHIR endpoint serving b under /fhir, plus /healthz,
// /readyz and /metrics. See the package documentation for the routes.
// Malformed token hashes in opt.Tokens are logged and match nothing.
func New(b Backend, opt Options) http.Handler {
	opt = opt.withDefaults()
	h := &handler{b: b, opt: opt, log: opt.Logger, types: map[string]bool{},
		decodes: make(chan struct{}, opt.MaxDecodes)}
	for _, t := range opt.Types {
		h.types[t] = true
	}
	var bad []int
	h.tokens, bad = newTokenSet(opt.Tokens)
	h.auth = len(opt.Tokens) > 0
	for _, i := range bad {
		h.log.Error("ignoring a malformed bearer token hash", "index", i)
	}
	h.m = newMetrics(opt.Registry)
	h.metricH = h.m.handler()
	_, versioned := b.(Versioned)
	h.capStmt = capabilityStatement(opt.Types, opt.Searches, h.auth, versioned, opt.Now())
	return h
}

// recorder captures the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	size   int
	bundle string // bundleTag of the posted Bundle, for the request line
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.size += n
	return n, err
}

// ServeHTTP routes, authenticates, recovers panics, logs and measures.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	route := routeUnknown
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			// The panic value may hold request data: log only the stack.
			h.logger(r.Context()).ErrorContext(r.Context(), "panic serving a request", "route", route, "stack", string(debug.Stack()))
			if rec.status == 0 {
				h.writeError(rec, newError(http.StatusInternalServerError, "", fhir.CodeException, "",
					"internal error"))
			}
		}
		d := time.Since(start)
		h.m.observe(route, rec.status, d)
		attrs := []slog.Attr{slog.String("method", safeMethod(r.Method)), slog.String("route", route),
			slog.Int("status", rec.status), slog.Int64("in_bytes", max(r.ContentLength, -1)),
			slog.Int("out_bytes", rec.size), slog.Duration("duration", d)}
		if rec.bundle != "" {
			attrs = append(attrs, slog.String("bundle", rec.bundle))
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}()
	route = h.route(rec, r)
}

// safeMethod returns the method when it is a standard one, else "other".
func safeMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS":
		return m
	}
	return "other"
}

// route dispatches r and returns the route name. Under /fhir, everything
// but the CapabilityStatement needs a valid token first, so that a caller
// without one learns nothing (not even which types or routes exist).
func (h *handler) route(w http.ResponseWriter, r *http.Request) string {
	switch r.URL.Path {
	case "/healthz":
		writeHealthz(w)
		return routeHealthz
	case "/readyz":
		h.ready(w, r)
		return routeReadyz
	case "/metrics":
		if !h.opt.MetricsAuth || h.authorized(w, r) {
			h.metricH.ServeHTTP(w, r)
		}
		return routeMetrics
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/fhir")
	if !ok || rest != "" && rest[0] != '/' {
		h.writeError(w, newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "no such route"))
		return routeUnknown
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	if len(segs) == 1 && segs[0] == "" {
		segs = nil
	}
	if len(segs) == 1 && segs[0] == "metadata" {
		if h.allow(w, r, "GET", "HEAD") && h.acceptable(w, r) {
			h.metadata(w)
		}
		return routeMetadata
	}
	if typ, ok := validateTarget(segs); ok {
		if h.authorized(w, r) && h.acceptable(w, r) {
			h.serveValidate(w, r, typ)
		}
		return routeValidate
	}
	name := routeUnknown
	switch {
	case len(segs) == 0:
		name = routeBundle
	case len(segs) == 1 && (r.Method == "GET" || r.Method == "HEAD") && h.opt.Searches[segs[0]].serves():
		name = routeSearch
	case len(segs) == 1:
		name = routeType
	case len(segs) == 2 && segs[1] == "_history", len(segs) == 3 && segs[2] == "_history":
		name = routeHistory
	case len(segs) == 4 && segs[2] == "_history":
		name = routeVread
	case len(segs) == 2:
		name = routeInstance
	}
	if !h.authorized(w, r) || !h.acceptable(w, r) {
		return name
	}
	switch name {
	case routeBundle:
		if h.allow(w, r, "POST") {
			h.postBundle(w, r)
		}
	case routeSearch:
		s := h.opt.Searches[segs[0]]
		h.search(w, r, segs[0], &s)
	case routeType:
		methods := []string{"POST"}
		if h.opt.Searches[segs[0]].serves() {
			methods = []string{"GET", "HEAD", "POST"}
		}
		methods = append(methods, "PUT", "DELETE") // conditional update and delete
		if !h.knownType(w, segs[0]) || !h.allow(w, r, methods...) {
			break
		}
		if r.Method == "PUT" || r.Method == "DELETE" {
			h.conditional(w, r, segs[0])
		} else {
			h.create(w, r, segs[0])
		}
	case routeInstance:
		if !h.knownType(w, segs[0]) || !h.allow(w, r, "GET", "HEAD", "PUT", "DELETE") {
			break
		}
		if r.Method == "PUT" {
			h.update(w, r, segs[0], segs[1])
		} else if r.Method == "DELETE" {
			h.deleteInstance(w, r, segs[0], segs[1])
		} else {
			h.read(w, r, segs[0], segs[1])
		}
	case routeHistory, routeVread:
		if h.knownType(w, segs[0]) && h.allow(w, r, "GET", "HEAD") {
			h.versionRoute(w, r, segs)
		}
	default:
		h.writeError(w, newError(http.StatusNotFound, "", fhir.CodeNotFound, "", "no such route"))
	}
	return name
}

// allow answers 405 with an Allow header unless r uses one of methods.
func (h *handler) allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	h.writeError(w, newError(http.StatusMethodNotAllowed, "", "not-supported", "",
		"this interaction is not supported on this URL"))
	return false
}

// knownType answers 404 unless typ is a served resource type. The type
// is not echoed: an unknown one could be anything.
func (h *handler) knownType(w http.ResponseWriter, typ string) bool {
	if h.types[typ] {
		return true
	}
	h.writeError(w, newError(http.StatusNotFound, "", "not-supported", "",
		"resource type not supported by this server"))
	return false
}

// authorized checks the bearer token when tokens are configured, else 401.
func (h *handler) authorized(w http.ResponseWriter, r *http.Request) bool {
	if !h.auth {
		return true
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhirbridge"`)
		h.writeError(w, newError(http.StatusUnauthorized, "", "login", "", "a bearer token is required"))
		return false
	}
	if !h.tokens.match(strings.TrimSpace(token)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhirbridge", error="invalid_token"`)
		h.writeError(w, newError(http.StatusUnauthorized, "", "login", "", "the bearer token is not valid"))
		return false
	}
	return true
}

// ready answers /readyz from Backend.Ready.
func (h *handler) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := h.b.Ready(ctx); err != nil {
		h.log.WarnContext(ctx, "not ready", "class", errClass(err))
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// writeError sends e as an OperationOutcome and counts a rejected body.
func (h *handler) writeError(w http.ResponseWriter, e *apiError) {
	if e.reason != "" {
		h.m.reject(e.reason)
	}
	if e.status == http.StatusServiceUnavailable {
		secs := int((h.opt.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeJSON(w, e.status, withRequestID(e.oo, w.Header().Get("X-Request-Id")).JSON())
}

// withRequestID is oo with "(request id: ID)" after its first issue's
// diagnostics, so that a client can quote it when asking about an error;
// oo itself is not changed (it may be shared). The id was checked by the
// request-id middleware before it was put in the response header.
func withRequestID(oo *fhir.OperationOutcome, id string) *fhir.OperationOutcome {
	if id == "" || oo == nil || len(oo.Issues) == 0 {
		return oo
	}
	c := &fhir.OperationOutcome{Issues: append([]fhir.Issue(nil), oo.Issues...)}
	c.Issues[0].Diagnostics = strings.TrimSpace(c.Issues[0].Diagnostics + " (request id: " + id + ")")
	return c
}

// writeJSON sends a FHIR JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
