package tyto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Reasons of classified failures, in the spec's words where it has them
// (errors.Is; each arrives inside a *StatusError and a classification).
var (
	// ErrUnauthorized: 401 (and 403). Reconnect.
	ErrUnauthorized = errors.New("username/password incorrect or this host's IP is not whitelisted on the Tyto server")
	// ErrTytoUnreachable: 408. Transient.
	ErrTytoUnreachable = errors.New("the portal cannot reach the Tyto server")
	// ErrStationExists: 409 to a station create; the connector treats it
	// as success.
	ErrStationExists = errors.New("station already exists")
	// ErrStationMissing: 404 to a station retrieve or a device pairing.
	ErrStationMissing = errors.New("station does not exist")
	// ErrDependencyMissing: 404 to a visit create (invalid clinician or
	// station identifier).
	ErrDependencyMissing = errors.New("the visit's clinician or station does not exist at the portal")
	// ErrClinicianInvalid: 404 [Invalid Identifier] to a clinician PUT.
	// Permanent.
	ErrClinicianInvalid = errors.New("clinician does not exist (invalid identifier)")
	// ErrInvalidIdentifier: 400 (and 422 other than empty). Permanent.
	ErrInvalidIdentifier = errors.New("invalid identifier format (unsupported characters, or a visit identifier over 140 characters)")
	// ErrRefused: another 4xx or 3xx. Permanent.
	ErrRefused = errors.New("the portal refused the request")
	// ErrServer: 429 or another 5xx. Transient.
	ErrServer = errors.New("the portal failed or is busy")
)

// MaxRetryAfter caps the wait a portal can ask for with Retry-After.
const MaxRetryAfter = time.Hour

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// StatusError is a non-2xx answer (connectors.StatusError, Who "portal").
type StatusError = connectors.StatusError

// op names an API call, for classification.
type op int

const (
	opStationCreate op = iota
	opStationGet
	opPair
	opClinicianPut
	opVisitCreate
)

// call describes one request: tmpl is the path template, id the
// identifier that replaces {identifier}, who the flow and resource for the
// log line.
type call struct {
	op           op
	method, tmpl string
	id           string
	body         []byte
	flow, res    string
}

// do sends c and returns the status and answer body. Transport failures
// come back Transient; non-2xx answers as a classified *StatusError.
func (t *TenantConnector) do(ctx context.Context, c call) (int, []byte, error) {
	var vals []string
	if strings.Contains(c.tmpl, "{identifier}") { // configuration checks it appears at most once
		vals = append(vals, c.id)
	}
	path := connectors.PathOf(c.tmpl, vals...)
	u, err := path.URL(t.base)
	if err != nil {
		reason := ErrInvalidIdentifier // "." or ".."
		if c.id == "" {
			reason = ErrEmptyIdentifier
		}
		return 0, nil, connectors.Permanently(fmt.Errorf("refusing %s %s: %w: %w", c.method, c.tmpl, reason, err))
	}
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, path), c.method, u.String(), rd)
	if err != nil {
		return 0, nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", c.method, c.tmpl, err))
	}
	req.SetBasicAuth(t.user, t.pass.Reveal())
	req.Header.Set("Accept", "application/json")
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := t.client.Do(req)
	log := t.root.log.Load()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which holds the identifier
		}
		log.WarnContext(ctx, "tyto call", "flow", c.flow, "resource", c.res, "tenant", t.name, "method", c.method, "path", c.tmpl,
			"status", 0, "ms", time.Since(start).Milliseconds(), "err", err)
		return 0, nil, connectors.Transiently(fmt.Errorf("sending %s %s: %w", c.method, c.tmpl, err), 0)
	}
	defer resp.Body.Close()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	log.InfoContext(ctx, "tyto call", "flow", c.flow, "resource", c.res, "tenant", t.name, "method", c.method, "path", c.tmpl,
		"status", resp.StatusCode, "ms", time.Since(start).Milliseconds())
	if rerr != nil {
		return 0, nil, connectors.Transiently(fmt.Errorf("reading answer to %s %s: %w", c.method, c.tmpl, rerr), 0)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	err = classify(c, resp.StatusCode, retryAfter(resp.Header.Get("Retry-After")))
	var se *StatusError
	if errors.As(err, &se) {
		se.Message = connectors.VendorReason(data, c.body, []byte(c.id))
	}
	return resp.StatusCode, data, err
}

// classify maps a non-2xx answer to a classified error per the spec's
// table (see the package README section and classify_test.go).
func classify(c call, status int, wait time.Duration) error {
	se := &StatusError{Method: c.method, Path: c.tmpl, Status: status, Who: "portal"}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		se.Reason = ErrUnauthorized
		return connectors.NeedsReconnect(se)
	case status == http.StatusRequestTimeout:
		se.Reason = ErrTytoUnreachable
		return connectors.Transiently(se, wait)
	case status == http.StatusConflict && c.op == opStationCreate:
		se.Reason = ErrStationExists
		return connectors.Permanently(se) // the caller turns it into success
	case status == http.StatusNotFound && (c.op == opStationGet || c.op == opPair):
		se.Reason = ErrStationMissing
	case status == http.StatusNotFound && c.op == opVisitCreate:
		se.Reason = ErrDependencyMissing
	case status == http.StatusNotFound && c.op == opClinicianPut:
		se.Reason = ErrClinicianInvalid
	case status == http.StatusUnprocessableEntity && (c.op == opStationCreate || c.op == opVisitCreate):
		se.Reason = ErrEmptyIdentifier // the spec's 422 [Empty Identifier]
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		se.Reason = ErrInvalidIdentifier
	case status == http.StatusTooManyRequests || status >= 500:
		se.Reason = ErrServer
		return connectors.Transiently(se, wait)
	default:
		se.Reason = ErrRefused
	}
	return connectors.Permanently(se)
}

// retryAfter reads a Retry-After value as a wait capped at MaxRetryAfter
// (see connectors.RetryAfter).
func retryAfter(v string) time.Duration { return connectors.RetryAfter(v, time.Now(), MaxRetryAfter) }
