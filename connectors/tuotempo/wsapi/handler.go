package wsapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir/promreg"
)

const (
	// Namespace is the target namespace of the SOAP messages and WSDL.
	Namespace = "urn:fhirbridge:tuotempo:ws"
	// DefaultPrefix is the path the merger mounts the handler at.
	DefaultPrefix = "/tuotempo/ws/"
	// MaxBody is the largest request body accepted (413 beyond).
	MaxBody = 64 << 10
	// CenterParam is the parameter naming the center of every call.
	CenterParam = "CENTER_LID"
	// retryAfter is the Retry-After of 503 answers, in seconds.
	retryAfter = "30"
	// maxParams bounds the parameters of one call.
	maxParams = 256
)

// Options configure [Handler].
type Options struct {
	// Prefix is the path the handler is mounted at, with its trailing
	// slash (default DefaultPrefix). Paths outside it answer 404.
	Prefix string
	// PublicURL is the external URL of the prefix ("https://bridge.example
	// /tuotempo/ws/"), for the WSDL's soap:address; empty: derived from
	// each request's Host and scheme.
	PublicURL string
	// AllowBasicWithoutTLS accepts HTTP Basic on plain HTTP (loopback
	// tests, the sandbox). Never set it on a public listener.
	AllowBasicWithoutTLS bool
	// Registerer receives the metrics (a private registry when nil):
	// fhirbridge_tuotempo_ws_requests_total{operation,transport,outcome}
	// and fhirbridge_tuotempo_ws_request_duration_seconds{operation,
	// transport}.
	Registerer prometheus.Registerer
	// Log receives one line per call (operation, center, transport,
	// outcome, duration, records). Default slog.Default().
	Log *slog.Logger
}

// Outcomes of a call, the metric's outcome label.
const (
	outcomeOK           = "ok"
	outcomeBadRequest   = "bad_request"
	outcomeNotFound     = "not_found"
	outcomeUnavailable  = "unavailable"
	outcomeError        = "error"
	outcomeUnauthorized = "unauthorized"
	outcomeRefused      = "refused" // 405, 413, 415
)

// handler serves both transports over one registry.
type handler struct {
	reg      *ws.Registry
	centers  map[string]ws.Center
	anyBasic bool
	opt      Options
	log      *slog.Logger
	m        *metrics
}

// Handler serves the operations of reg for centers over REST and SOAP
// under opt.Prefix (see the package documentation for the wire contract).
// Operations registered in reg after the call are served too.
func Handler(reg *ws.Registry, centers []ws.Center, opt Options) http.Handler {
	if reg == nil {
		reg = &ws.Registry{}
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(opt.Prefix, "/") {
		opt.Prefix += "/"
	}
	if opt.PublicURL != "" && !strings.HasSuffix(opt.PublicURL, "/") {
		opt.PublicURL += "/"
	}
	h := &handler{reg: reg, centers: map[string]ws.Center{}, opt: opt, log: opt.Log, m: newMetrics(opt.Registerer)}
	if h.log == nil {
		h.log = slog.Default()
	}
	for _, c := range centers {
		h.centers[c.LID] = c
		if c.Basic != nil {
			h.anyBasic = true
		}
	}
	return h
}

// ServeHTTP routes to REST, its help, SOAP and the WSDL.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.opt.Prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case rest == "soap":
		h.serveSOAP(w, r)
	case rest == "rest" || rest == "rest/":
		h.serveHelp(w, r)
	case strings.HasPrefix(rest, "rest/"):
		h.serveREST(w, r, rest[len("rest/"):])
	default:
		http.NotFound(w, r)
	}
}

// errUnauthorized is every authentication failure: one answer whatever
// the reason, so a caller cannot tell which centers exist.
var errUnauthorized = errors.New("authentication required")

// errBasicNeedsTLS refuses HTTP Basic on plain HTTP.
var errBasicNeedsTLS = errors.New("HTTP Basic requires TLS")

// authenticate checks that r carries the credential of center lid.
func (h *handler) authenticate(r *http.Request, lid string) error {
	c, known := h.centers[lid]
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		want := c.Token.Reveal()
		ok := equal(strings.TrimSpace(cred), want)
		if known && want != "" && ok {
			return nil
		}
	case "basic":
		if r.TLS == nil && !h.opt.AllowBasicWithoutTLS {
			return errBasicNeedsTLS
		}
		user, pass, parsed := r.BasicAuth()
		var wantUser, wantPass string
		if c.Basic != nil {
			wantUser, wantPass = c.Basic.User, c.Basic.Password.Reveal()
		}
		okUser, okPass := equal(user, wantUser), equal(pass, wantPass)
		if known && parsed && wantUser != "" && wantPass != "" && okUser && okPass {
			return nil
		}
	}
	return errUnauthorized
}

// equal compares a and b in time independent of their contents and
// lengths.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// challenge sets WWW-Authenticate for a 401.
func (h *handler) challenge(w http.ResponseWriter) {
	w.Header().Add("WWW-Authenticate", `Bearer realm="fhirbridge tuotempo"`)
	if h.anyBasic {
		w.Header().Add("WWW-Authenticate", `Basic realm="fhirbridge tuotempo", charset="UTF-8"`)
	}
}

// readBody reads r's body up to MaxBody; errTooLarge beyond.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, &ws.Error{Kind: ws.BadRequest, Message: "cannot read the request body", Err: err}
	}
	return b, nil
}

var errTooLarge = errors.New("request body over 64 KiB")

// nameRE is a parameter or operation name safe to repeat in an error.
var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

// safeName returns name when it is safe to repeat, else "".
func safeName(name string) string {
	if nameRE.MatchString(name) {
		return name
	}
	return ""
}

// badParam is a BadRequest about parameter name, naming it only when safe.
func badParam(name, msg string) *ws.Error {
	return &ws.Error{Kind: ws.BadRequest, Field: safeName(name), Message: msg}
}

// inFields returns op's parameters with CENTER_LID, which every call
// carries, first when op does not declare it.
func inFields(op *ws.Operation) []ws.Field {
	for _, f := range op.In {
		if f.Name == CenterParam {
			return op.In
		}
	}
	return append([]ws.Field{{Name: CenterParam, Required: true, Doc: "The center the call is for (guide B.3)."}}, op.In...)
}

// validate checks params against op: unknown, missing Required and over-Max
// parameters are BadRequest. Empty values are dropped (absent).
func validate(op *ws.Operation, params map[string]string) error {
	fields := inFields(op)
	known := make(map[string]ws.Field, len(fields))
	for _, f := range fields {
		known[f.Name] = f
	}
	for name, v := range params {
		f, ok := known[name]
		if !ok {
			return badParam(name, "unknown parameter")
		}
		if v == "" {
			delete(params, name)
			continue
		}
		if f.Max > 0 && utf8.RuneCountInString(v) > f.Max {
			return badParam(name, fmt.Sprintf("longer than %d characters", f.Max))
		}
	}
	for _, f := range fields {
		if f.Required && params[f.Name] == "" {
			return badParam(f.Name, "required parameter missing")
		}
	}
	return nil
}

// invoke runs the authenticated call of op: validates the parameters,
// calls op and checks the record count. A panic in op is an internal
// error; its value is not kept (it may hold patient data).
func invoke(ctx context.Context, op *ws.Operation, params map[string]string) (recs []ws.Record, err error) {
	if err := validate(op, params); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			recs, err = nil, errPanic
		}
	}()
	recs, err = op.Call(ctx, &ws.Request{Center: params[CenterParam], Params: params})
	if err != nil {
		return nil, err
	}
	if !op.List && len(recs) != 1 {
		return nil, fmt.Errorf("wsapi: operation %s answered %d records for a single result: %w", op.Name, len(recs), errShape)
	}
	return recs, nil
}

var (
	errPanic = errors.New("wsapi: operation panicked")
	errShape = errors.New("wsapi: wrong number of records")
)

// outcomeOf classifies a call's error for metrics and logs.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, errUnauthorized), errors.Is(err, errBasicNeedsTLS):
		return outcomeUnauthorized
	case errors.Is(err, errTooLarge), errors.Is(err, errMethod), errors.Is(err, errMediaType):
		return outcomeRefused
	}
	switch ws.KindOf(err) {
	case ws.BadRequest:
		return outcomeBadRequest
	case ws.NotFound:
		return outcomeNotFound
	case ws.Unavailable:
		return outcomeUnavailable
	}
	return outcomeError
}

var (
	errMethod    = errors.New("method not allowed")
	errMediaType = errors.New("unsupported media type")
)

// record logs and counts one finished call. opName is the operation when
// registered ("unknown" otherwise, keeping the label set bounded); the
// center only when authenticated.
func (h *handler) record(ctx context.Context, transport, opName, center string, start time.Time, n int, err error) {
	d := time.Since(start)
	outcome := outcomeOf(err)
	if opName == "" || h.reg.Lookup(opName) == nil {
		opName = "unknown"
	}
	h.m.requests.WithLabelValues(opName, transport, outcome).Inc()
	h.m.duration.WithLabelValues(opName, transport).Observe(d.Seconds())
	attrs := []slog.Attr{
		slog.String("operation", opName), slog.String("transport", transport),
		slog.String("outcome", outcome), slog.Duration("duration", d), slog.Int("records", n),
	}
	if center != "" {
		attrs = append(attrs, slog.String("center", center))
	}
	var we *ws.Error
	switch {
	case errors.As(err, &we):
		// Kind and field only: the message is safe but may be long.
		attrs = append(attrs, slog.Int("kind", int(we.Kind)), slog.String("field", we.Field))
	case err != nil && outcome == outcomeError:
		attrs = append(attrs, slog.String("cause", causeType(err)))
	}
	level := slog.LevelInfo
	if outcome == outcomeError {
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "tuotempo web service call", attrs...)
}

// causeType names the innermost error's type, never its text.
func causeType(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return fmt.Sprintf("%T", err)
		}
		err = next
	}
}

// metrics are the handler's collectors.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics registers the collectors with reg (a private registry when
// nil), reusing equal collectors already registered there.
func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fhirbridge_tuotempo_ws_requests_total",
			Help: "tuOtempO web service calls by operation, transport (rest, soap) and outcome.",
		}, []string{"operation", "transport", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fhirbridge_tuotempo_ws_request_duration_seconds",
			Help:    "tuOtempO web service call duration by operation and transport.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation", "transport"}),
	}
	m.requests = promreg.Register(reg, m.requests)
	m.duration = promreg.Register(reg, m.duration)
	return m
}
