package vsee

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// The API's paths (the spec's routes); :id is {id}.
const (
	PathSSO      = "/users/sso"
	PathIntakes  = "/intakes"
	PathVisits   = "/visits"
	PathWalkin   = "/visits/add_walkin"
	PathEconsult = "/add_econsult"
	PathVisit    = "/visits/{id}"
)

// Reasons of classified failures (errors.Is; each arrives inside a
// *StatusError or a classification).
var (
	// ErrCredentials: 401 or 403 to POST /users/sso (api_key, api_secret)
	// or to a call made with admin_token. Reconnect (the circuit opens).
	ErrCredentials = errors.New("VSee refused the bridge's credentials (api_key/api_secret or admin_token)")
	// ErrTokenRefused: 401 or 403 to a call made with the patient's SSO
	// token just minted. Transient: the next attempt mints another.
	ErrTokenRefused = errors.New("VSee refused the patient's fresh SSO token")
	// ErrVisitNotFound: 404 to GET /visits/{id}. Permanent.
	ErrVisitNotFound = errors.New("VSee has no such visit")
	// ErrRefused: another 4xx (or a 3xx). Permanent.
	ErrRefused = errors.New("VSee refused the request")
	// ErrServer: 429 or a 5xx. Transient, after Retry-After when given.
	ErrServer = errors.New("VSee failed or is busy")
	// ErrInDoubt: a visit create was sent but no answer came (timeout,
	// broken connection): the visit may exist, and the API has no lookup
	// to find out. Permanent: dead-lettered for an operator.
	ErrInDoubt = errors.New("the visit request reached VSee but its answer was lost; the API offers no lookup to tell whether the visit was created")
)

// MaxRetryAfter caps the wait VSee can ask for with Retry-After.
const MaxRetryAfter = time.Hour

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// StatusError is a non-2xx answer (connectors.StatusError, Who "VSee").
type StatusError = connectors.StatusError

// auth is how a call authenticates.
type auth int

const (
	authService auth = iota // X-ApiKey, X-ApiSecret
	authPatient             // X-ApiToken: the patient's SSO token
	authAdmin               // X-ApiToken: admin_token
)

// request is one call.
type request struct {
	method, tmpl, id string
	body             []byte
	auth             auth
	token            connectors.Secret // the X-ApiToken value
	// mayRepeat: sending it twice is harmless (SSO is idempotent by code,
	// an orphan intake is harmless, GET), so a lost answer is transient.
	mayRepeat bool
}

// client is the HTTP side of the connector.
type client struct {
	base        *url.URL
	key, secret connectors.Secret
	http        *http.Client
}

// do sends r and returns the answer body. A transport failure is
// Transient, or Permanent ErrInDoubt when a request that must not repeat
// was written; a non-2xx answer is a classified *StatusError.
func (c *client) do(ctx context.Context, r request) ([]byte, error) {
	var vals []string
	if r.id != "" {
		vals = append(vals, r.id)
	}
	path := connectors.PathOf(r.tmpl, vals...)
	u, err := path.URL(c.base)
	if err != nil {
		return nil, connectors.Permanently(fmt.Errorf("refusing %s %s: %w", r.method, r.tmpl, err))
	}
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	var wrote atomic.Bool // set by the transport's write loop
	ctx = httptrace.WithClientTrace(connectors.WithPathTemplate(ctx, path), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", r.method, r.tmpl, err))
	}
	switch r.auth {
	case authService:
		req.Header.Set("X-ApiKey", c.key.Reveal())
		req.Header.Set("X-ApiSecret", c.secret.Reveal())
	default:
		req.Header.Set("X-ApiToken", r.token.Reveal())
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which holds the visit id
		}
		err = fmt.Errorf("sending %s %s: %w", r.method, r.tmpl, err)
		if wrote.Load() && !r.mayRepeat {
			return nil, connectors.Permanently(fmt.Errorf("%w: %w", ErrInDoubt, err))
		}
		return nil, connectors.Transiently(err, 0)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		err = fmt.Errorf("reading the answer to %s %s: %w", r.method, r.tmpl, err)
		if !r.mayRepeat && resp.StatusCode < 300 {
			return nil, connectors.Permanently(fmt.Errorf("%w: %w", ErrInDoubt, err))
		}
		return nil, connectors.Transiently(err, 0)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return data, nil
	}
	err = classify(r, resp.StatusCode, connectors.RetryAfter(resp.Header.Get("Retry-After"), time.Now(), MaxRetryAfter))
	var se *StatusError
	if errors.As(err, &se) {
		se.Message = connectors.VendorReason(data, r.body, []byte(r.id), []byte(r.token))
	}
	return data, err
}

// classify maps a non-2xx answer to a classified error.
func classify(r request, status int, wait time.Duration) error {
	se := &StatusError{Method: r.method, Path: r.tmpl, Status: status, Who: "VSee"}
	switch {
	case (status == http.StatusUnauthorized || status == http.StatusForbidden) && r.auth == authPatient:
		se.Reason = ErrTokenRefused
		return connectors.Transiently(se, wait)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		se.Reason = ErrCredentials
		return connectors.NeedsReconnect(se)
	case status == http.StatusNotFound && r.tmpl == PathVisit:
		se.Reason = ErrVisitNotFound
	case status == http.StatusTooManyRequests || status >= 500:
		se.Reason = ErrServer
		return connectors.Transiently(se, wait)
	default:
		se.Reason = ErrRefused
	}
	return connectors.Permanently(se)
}
