package solo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// MaxRetryAfter caps the wait a vendor can ask for with Retry-After.
const MaxRetryAfter = time.Hour

// maxResponse bounds how much of an answer is read.
const maxResponse = 1 << 20

// now is the clock used to turn a Retry-After date into a wait; tests
// replace it.
var now = time.Now

// StatusError is a non-2xx answer from Solo. It carries only what is safe
// to log: the status, the vendor's error code when it sent one, the names
// of Solo fields its message mentions, and its message with anything that
// may echo a submitted value removed (connectors.VendorReason).
type StatusError struct {
	Method, Path string
	Status       int
	// Code is the vendor's error code, when the answer had one.
	Code string
	// Fields are the known Solo field names the vendor's message mentions.
	Fields []string
	// Message is Solo's answer summarised by connectors.VendorReason: its
	// wording and field names, with what may be a value replaced by "…".
	Message string
}

// Error describes the answer: status, method, path, code and field names.
func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "solo answered %d %s to %s %s", e.Status, http.StatusText(e.Status), e.Method, e.Path)
	if e.Code != "" {
		fmt.Fprintf(&b, " (code %s)", e.Code)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields: %s)", strings.Join(e.Fields, ", "))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": solo said: %s", e.Message)
	}
	return b.String()
}

// call sends one request to path and returns the status and answer body.
// A path that could not be built (connectors.ErrPathSegment) fails
// Permanent before anything is sent; transport failures come back
// classified Transient; non-2xx answers come back as a classified
// *StatusError.
func (c *Connector) call(ctx context.Context, method string, path connectors.Path, body []byte) (int, []byte, error) {
	u, err := path.URL(c.base)
	if err != nil {
		return 0, nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", method, path, err))
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, path), method, u.String(), rd)
	if err != nil {
		return 0, nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", method, path, err))
	}
	req.Header.Set("Api-Key", c.key.Reveal())
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL; keep the cause only
		}
		return 0, nil, connectors.Transiently(fmt.Errorf("sending %s %s: %w", method, path, err), 0)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, connectors.Transiently(fmt.Errorf("reading answer to %s %s: %w", method, path, err), 0)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	return resp.StatusCode, data, classify(method, path.String(), resp, data, body)
}

// classify turns a non-2xx answer into a classified error (GUIDE §3.5);
// sent is what the request carried (its body, its query), whose values
// are kept out of the error.
func classify(method, path string, resp *http.Response, body []byte, sent ...[]byte) error {
	se := &StatusError{Method: method, Path: path, Status: resp.StatusCode}
	se.Code, se.Fields = vendorReason(body)
	se.Message = connectors.VendorReason(body, sent...)
	s := resp.StatusCode
	switch {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return connectors.NeedsReconnect(se)
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return connectors.Transiently(se, retryAfter(resp.Header.Get("Retry-After")))
	default: // 3xx (redirects are not followed), 400, 404, 409, 422 …
		return connectors.Permanently(se)
	}
}

// retryAfter reads a Retry-After value as a wait capped at MaxRetryAfter
// (see connectors.RetryAfter).
func retryAfter(v string) time.Duration { return connectors.RetryAfter(v, now(), MaxRetryAfter) }

var (
	codePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	wordPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9]*`)
)

// soloFields is the vocabulary of Solo request fields a vendor message may
// name; only these words are ever reported, so no submitted value can be.
var soloFields = map[string]bool{}

func init() {
	for _, f := range strings.Fields(`id mrn accountNumber name use family firstName middleName
		lastName alias birthDate gender maritalStatus telecom system value contact
		preferredLanguage race ethnicity address city apartment country state postalcode
		line active deceased deceasedAt familyMember isLinkedByEmail sharedEmailGroup
		groupType groupName date reasons duration waitingRoom externalId episodeOfCareId status`) {
		soloFields[f] = true
	}
}

// vendorReason extracts the safe part of Solo's {"error":{"message","code"}}.
func vendorReason(body []byte) (code string, fields []string) {
	var doc struct {
		Error struct {
			Message string `json:"message"`
			Code    any    `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return "", nil
	}
	if doc.Error.Code != nil {
		if c := fmt.Sprint(doc.Error.Code); codePattern.MatchString(c) {
			code = c
		}
	}
	for _, w := range wordPattern.FindAllString(doc.Error.Message, -1) {
		if soloFields[w] && !slices.Contains(fields, w) {
			fields = append(fields, w)
		}
	}
	return code, fields
}

// HTTPStatus is Solo's status, for the message log.
func (e *StatusError) HTTPStatus() int { return e.Status }
