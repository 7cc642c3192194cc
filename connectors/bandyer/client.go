package bandyer

import (
	"bytes"
	"context"
	"encoding/json"
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

// The backend's paths (the spec's routes); :roomId is {roomId}.
const (
	PathCreate       = "/teleconsultation"
	PathRoom         = "/teleconsultation/{roomId}"
	PathParticipants = "/teleconsultation/{roomId}/participants/data"
)

// Reasons of classified failures, in the spec's words where it has them
// (errors.Is; each arrives inside a *StatusError and a classification).
var (
	// ErrUnauthorizedUser: 401 to GET /teleconsultation/:roomId asked as
	// a participant — the spec's "Unauthorized user" (the backend does
	// not count the user among the room's participants). Permanent.
	ErrUnauthorizedUser = errors.New("Unauthorized user")
	// ErrRoomNotFound: 404 — the spec's "Room with id … not found on
	// CRUD". Permanent (a DELETE treats it as done).
	ErrRoomNotFound = errors.New("Room not found on CRUD")
	// ErrNoPlusUser: 400 "no plus user in room". Permanent.
	ErrNoPlusUser = errors.New("no plus user in room")
	// ErrCredentials: 401 or 403 to a service call: the backend refused
	// the bridge's credentials. Reconnect (the circuit opens).
	ErrCredentials = errors.New("the backend refused the service credentials (api_key)")
	// ErrRefused: another 4xx (or a 3xx). Permanent.
	ErrRefused = errors.New("the backend refused the request")
	// ErrServer: 429 or a 5xx. Transient, after Retry-After when given.
	ErrServer = errors.New("the backend failed or is busy")
	// ErrInDoubt: the request was sent but no answer came (timeout, broken
	// connection): a create or participant push may have happened, and
	// the backend has no lookup to find out. Permanent: see Deliver.
	ErrInDoubt = errors.New("the request reached the backend but its answer was lost; the backend offers no lookup to tell whether it was applied")
)

// MaxRetryAfter caps the wait the backend can ask for with Retry-After.
const MaxRetryAfter = time.Hour

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// StatusError is a non-2xx answer (connectors.StatusError, Who "backend").
type StatusError = connectors.StatusError

// request is one call: the path template and the roomId that fills it,
// the JSON body, and the participant the call is asked as ("" for a
// service call).
type request struct {
	method, tmpl, room string
	body               []byte
	as                 string
	// mayRepeat: sending it twice is harmless (PATCH, DELETE, GET), so a
	// lost answer is transient, not ErrInDoubt.
	mayRepeat bool
}

// client is the HTTP side of the connector.
type client struct {
	base   *url.URL
	key    connectors.Secret
	header string
	http   *http.Client
}

// do sends r and returns the status and the answer body. A transport
// failure is Transient, or Permanent ErrInDoubt when a request that must
// not repeat was written; a non-2xx answer is a classified *StatusError.
func (c *client) do(ctx context.Context, r request) (int, []byte, error) {
	var vals []string
	if r.room != "" {
		vals = append(vals, r.room)
	}
	path := connectors.PathOf(r.tmpl, vals...)
	u, err := path.URL(c.base)
	if err != nil {
		return 0, nil, connectors.Permanently(fmt.Errorf("refusing %s %s: %w", r.method, r.tmpl, err))
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
		return 0, nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", r.method, r.tmpl, err))
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key.Reveal())
	}
	if r.as != "" {
		req.Header.Set(c.header, r.as)
	}
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, which holds the roomId
		}
		err = fmt.Errorf("sending %s %s: %w", r.method, r.tmpl, err)
		if wrote.Load() && !r.mayRepeat {
			return 0, nil, connectors.Permanently(fmt.Errorf("%w: %w", ErrInDoubt, err))
		}
		return 0, nil, connectors.Transiently(err, 0)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		err = fmt.Errorf("reading the answer to %s %s: %w", r.method, r.tmpl, err)
		if !r.mayRepeat && resp.StatusCode < 300 {
			return 0, nil, connectors.Permanently(fmt.Errorf("%w: %w", ErrInDoubt, err))
		}
		return 0, nil, connectors.Transiently(err, 0)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	err = classify(r, resp.StatusCode, data, connectors.RetryAfter(resp.Header.Get("Retry-After"), time.Now(), MaxRetryAfter))
	var se *StatusError
	if errors.As(err, &se) {
		se.Message = connectors.VendorReason(data, r.body, []byte(r.room), []byte(r.as))
	}
	return resp.StatusCode, data, err
}

// classify maps a non-2xx answer to a classified error.
func classify(r request, status int, data []byte, wait time.Duration) error {
	se := &StatusError{Method: r.method, Path: r.tmpl, Status: status, Who: "backend"}
	switch {
	case status == http.StatusUnauthorized && r.as != "":
		se.Reason = ErrUnauthorizedUser
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		se.Reason = ErrCredentials
		return connectors.NeedsReconnect(se)
	case status == http.StatusBadRequest && noPlusUser(data):
		se.Reason = ErrNoPlusUser
	case status == http.StatusNotFound && r.room != "":
		se.Reason = ErrRoomNotFound
	case status == http.StatusTooManyRequests || status >= 500:
		se.Reason = ErrServer
		return connectors.Transiently(se, wait)
	default:
		se.Reason = ErrRefused
	}
	return connectors.Permanently(se)
}

// noPlusUser reports whether a 400 answer body is the spec's "no plus
// user in room" error.
func noPlusUser(data []byte) bool {
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(data, &e) == nil && bytes.HasSuffix([]byte(e.Error), []byte(": no plus user in room"))
}
