// Package sso is tuOtempO's patient single sign-on (guide D.1): the
// hospital portal's server asks the bridge for a tuOtempO session for one
// of its patients, the bridge logs the patient in from server to server
// and answers only the session URL the browser is sent to.
//
//	POST /tuotempo/sso
//	Authorization: Bearer <one of connectors.tuotempo.sso.tokens>
//	{"patient": "Patient/pat-1"}              (or {"patient": "pat-1"})
//
//	200 {"url": "https://app.tuotempo.com/mop_customer.php?dbName=tt_acme&sessionid=…"}
//
// The bridge reads the stored Patient, maps it with tuotempo/sso-login to
// tuOtempO's login fields (fname, lname, phone, hometel, email, idnumber,
// birthday) plus dbName, and POSTs them as an
// application/x-www-form-urlencoded body to login_url with the configured
// user and password as HTTP Basic. tuOtempO answers a session id
// (sessionId=… as text, or JSON {"sessionId": "…"}). The patient's data is
// therefore never in the browser, the answered URL, a log or an error.
//
// Answers: 401 a missing or unknown token, 404 an unknown patient, 400 a
// malformed body (or one over 16 KiB), 422 a patient the mapping refuses
// (no name), 502 tuOtempO refused or answered something that is not a
// session, 504 tuOtempO did not answer within timeout, 503 the store
// failed. Every answer is Cache-Control: no-store.
//
// The guide's operator access — a URL carrying username, password and the
// patient's data in its query string — is never built: it would put a
// password and patient data in browsers, proxies and server logs.
package sso

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// Path is where the merger mounts the handler.
const Path = "/tuotempo/sso"

// Bounds of the bodies read.
const (
	maxRequestBytes = 16 << 10
	maxAnswerBytes  = 64 << 10
	maxPatientBytes = 1 << 20
	maxSessionLen   = 256
)

// FormFields are the login form fields the mapping may give; any other
// target of a site's own mapping is refused at start.
var FormFields = []string{"fname", "lname", "phone", "hometel", "email", "idnumber", "birthday"}

// Handler returns the POST /tuotempo/sso handler. cfg is copied and its
// defaults filled; an invalid cfg or a mapping that is not a Patient row
// mapping of FormFields is an error. log may be nil.
func Handler(cfg Config, st *store.Store, log *slog.Logger) (http.Handler, error) {
	h, err := newHandler(cfg, st, log, nil)
	if err != nil {
		return nil, err
	}
	return h, nil
}

// newHandler is Handler with the HTTP client of the login call (nil: one
// of its own).
func newHandler(cfg Config, st *store.Store, log *slog.Logger, client *http.Client) (*handler, error) {
	cfg.FillDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("tuotempo sso: %w", errors.Join(errs...))
	}
	if st == nil {
		return nil, errors.New("tuotempo sso: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := bridge.LoadMapping(cfg.Mapping, cfg.Params)
	if err != nil {
		return nil, fmt.Errorf("tuotempo sso: %s.mapping: %w", Section, err)
	}
	if m.Direction() != mapping.Forward || m.SourceType() != "Patient" || m.Output() != "row" || m.Each() {
		return nil, fmt.Errorf("tuotempo sso: %s.mapping %s: want a forward Patient row mapping without each", Section, m.Name())
	}
	for _, c := range m.Columns() {
		if !contains(FormFields, c) {
			return nil, fmt.Errorf("tuotempo sso: %s.mapping %s: field %q is not a login form field (%s)", Section, m.Name(), c, strings.Join(FormFields, ", "))
		}
	}
	if client == nil {
		client = &http.Client{}
	}
	c := *connectors.TracedClient(client)
	c.Timeout = 0 // the request's context bounds the call
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	tokens := make([][]byte, len(cfg.Tokens))
	for i, t := range cfg.Tokens {
		tokens[i] = []byte(t.Reveal())
	}
	return &handler{cfg: cfg, st: st, log: log, m: m, client: &c, tokens: tokens}, nil
}

type handler struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	m      *mapping.Mapping
	client *http.Client
	tokens [][]byte
}

// idRE is a FHIR resource id.
var idRE = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	if !h.authorized(r.Header.Get("Authorization")) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhirbridge tuotempo sso"`)
		fail(w, http.StatusUnauthorized, "missing or unknown bearer token")
		return
	}
	id, msg := readPatientRef(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if msg != "" {
		fail(w, http.StatusBadRequest, msg)
		return
	}
	body, _, err := h.st.GetResource(r.Context(), "Patient", id)
	if errors.Is(err, store.ErrNotFound) {
		fail(w, http.StatusNotFound, "no such patient")
		return
	}
	if err != nil {
		h.log.Error("tuotempo sso: reading the patient", "patient", id, "err", err)
		fail(w, http.StatusServiceUnavailable, "store unavailable")
		return
	}
	if len(body) > maxPatientBytes {
		fail(w, http.StatusUnprocessableEntity, "patient cannot be mapped")
		return
	}
	pat, err := fhir.Decode(body, fhir.DecodeOptions{MaxElements: 100000})
	if err != nil {
		h.log.Warn("tuotempo sso: stored patient unreadable", "patient", id)
		fail(w, http.StatusUnprocessableEntity, "patient cannot be mapped")
		return
	}
	rec, err := h.m.Apply(pat, nil)
	if err != nil || rec == nil {
		// A *mapping.FieldError names the field and rule, never a value.
		h.log.Warn("tuotempo sso: patient not mappable", "patient", id, "err", err)
		fail(w, http.StatusUnprocessableEntity, "patient cannot be mapped")
		return
	}
	form := url.Values{}
	for _, mb := range rec.Members {
		switch mb.Value.Kind {
		case fhir.String, fhir.Number, fhir.Bool:
			form.Set(mb.Key, mb.Value.Str)
		}
	}
	form.Set("dbName", h.cfg.DBName)
	start := time.Now()
	session, status, reason := h.login(r.Context(), form)
	if status != http.StatusOK {
		h.log.Warn("tuotempo sso: login failed", "patient", id, "reason", reason, "ms", time.Since(start).Milliseconds())
		msg := "tuOtempO refused the login"
		if status == http.StatusGatewayTimeout {
			msg = "tuOtempO did not answer in time"
		}
		fail(w, status, msg)
		return
	}
	h.log.Info("tuotempo sso: session opened", "patient", id, "ms", time.Since(start).Milliseconds())
	writeJSON(w, http.StatusOK, map[string]string{"url": sessionURL(h.cfg.SessionURL, h.cfg.DBName, session)})
}

// authorized compares the bearer token with every configured one in
// constant time (all of them, whatever matches).
func (h *handler) authorized(header string) bool {
	const prefix = "Bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	got := []byte(strings.TrimSpace(header[len(prefix):]))
	ok := 0
	for _, t := range h.tokens {
		ok |= subtle.ConstantTimeCompare(got, t)
	}
	return ok == 1
}

// readPatientRef reads {"patient": "Patient/<id>" | "<id>"}; msg says
// what is wrong (never echoing the body).
func readPatientRef(body io.Reader) (id, msg string) {
	var in struct {
		Patient string `json:"patient"`
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", fmt.Sprintf("body over %d bytes", maxRequestBytes)
		}
		return "", `want JSON {"patient": "Patient/<id>"}`
	}
	if dec.More() {
		return "", "one JSON object only"
	}
	id = strings.TrimPrefix(in.Patient, "Patient/")
	if !idRE.MatchString(id) {
		return "", "patient: want Patient/<id> or a FHIR id"
	}
	return id, ""
}

// login POSTs the form to tuOtempO and returns the session id, or the
// status to answer (502, 504) and a reason to log (no data).
func (h *handler) login(ctx context.Context, form url.Values) (session string, status int, reason string) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(h.cfg.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.LoginURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", http.StatusBadGateway, "building the request"
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/plain, application/json")
	req.SetBasicAuth(h.cfg.User, h.cfg.Password.Reveal())
	resp, err := h.client.Do(req)
	if err != nil {
		if isTimeout(ctx, err) {
			return "", http.StatusGatewayTimeout, "timeout"
		}
		return "", http.StatusBadGateway, "unreachable"
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
		return "", http.StatusBadGateway, fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		if isTimeout(ctx, err) {
			return "", http.StatusGatewayTimeout, "timeout reading the answer"
		}
		return "", http.StatusBadGateway, "reading the answer"
	}
	if len(b) > maxAnswerBytes {
		return "", http.StatusBadGateway, "answer too large"
	}
	s, err := ParseSessionAnswer(b)
	if err != nil {
		return "", http.StatusBadGateway, err.Error()
	}
	return s, http.StatusOK, ""
}

func isTimeout(ctx context.Context, err error) bool {
	var ne net.Error
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// sessionRE is an acceptable session id.
var sessionRE = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

// ErrNoSession is wrapped by ParseSessionAnswer's errors.
var ErrNoSession = errors.New("no session id in tuOtempO's answer")

// ParseSessionAnswer reads tuOtempO's login answer: JSON {"sessionId":
// "<id>"}, or text holding sessionId=<id> (alone, in a query-like
// a=b&sessionId=<id>, or on a line). The id is 1 to 256 characters of
// letters, digits and . _ ~ -. Errors never quote the answer.
func ParseSessionAnswer(b []byte) (string, error) {
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return "", fmt.Errorf("empty answer: %w", ErrNoSession)
	}
	var id string
	if b[0] == '{' {
		var v map[string]json.RawMessage
		if err := json.Unmarshal(b, &v); err != nil {
			return "", fmt.Errorf("malformed JSON answer: %w", ErrNoSession)
		}
		raw, ok := v["sessionId"]
		if !ok {
			for k, r := range v {
				if strings.EqualFold(k, "sessionid") {
					raw, ok = r, true
					break
				}
			}
		}
		if !ok || json.Unmarshal(raw, &id) != nil {
			return "", fmt.Errorf("JSON answer without a string sessionId: %w", ErrNoSession)
		}
	} else {
		s := string(b)
		i := strings.Index(asciiLower(s), "sessionid=") // same length as s, unlike strings.ToLower on invalid UTF-8
		if i < 0 || (i > 0 && !strings.ContainsRune("&?; \t\r\n", rune(s[i-1]))) {
			return "", fmt.Errorf("text answer without sessionId=: %w", ErrNoSession)
		}
		s = s[i+len("sessionid="):]
		if j := strings.IndexAny(s, "&; \t\r\n"); j >= 0 {
			s = s[:j]
		}
		id = s
	}
	if len(id) == 0 || len(id) > maxSessionLen || !sessionRE.MatchString(id) {
		return "", fmt.Errorf("session id empty, too long or of unexpected characters: %w", ErrNoSession)
	}
	return id, nil
}

// asciiLower lowers the ASCII letters of s only, so that an index into the
// result is an index into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// sessionURL is base with dbName and sessionid set in its query.
func sessionURL(base, db, session string) string {
	u, err := url.Parse(base)
	if err != nil { // Validate parsed it already
		return base
	}
	q := u.Query()
	q.Set("dbName", db)
	q.Set("sessionid", session)
	u.RawQuery = q.Encode()
	return u.String()
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
