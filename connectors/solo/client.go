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

	"github.com/fhirbridge/fhirbridge/connectors"
)

// request is one call made by the episode, link, attachment and document
// methods: call (http.go) with a query, a content type other than JSON,
// and extra headers.
type extRequest struct {
	method      string
	path        connectors.Path
	query       url.Values
	body        []byte
	contentType string            // "" with a body: application/json
	header      map[string]string // further headers (Teams-Auth-Token)
}

// do sends r and returns the status and answer body; errors are classified
// like those of call and never quote a query value or a header.
func (c *Connector) extDo(ctx context.Context, r extRequest) (int, []byte, error) {
	u, err := r.path.URL(c.base)
	if err != nil {
		return 0, nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", r.method, r.path, err))
	}
	u.RawQuery = r.query.Encode()
	var rd io.Reader
	if r.body != nil {
		rd = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, r.path), r.method, u.String(), rd)
	if err != nil {
		return 0, nil, connectors.Permanently(fmt.Errorf("building %s %s: %w", r.method, r.path, err))
	}
	req.Header.Set("Api-Key", c.key.Reveal())
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL (and the file name); keep the cause only
		}
		return 0, nil, connectors.Transiently(fmt.Errorf("sending %s %s: %w", r.method, r.path, err), 0)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, connectors.Transiently(fmt.Errorf("reading answer to %s %s: %w", r.method, r.path, err), 0)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, data, nil
	}
	sent := [][]byte{[]byte(r.query.Encode())} // what the vendor may echo
	if r.contentType == "" {
		sent = append(sent, r.body) // JSON; a file's bytes are no wording to compare with
	}
	return resp.StatusCode, data, classify(r.method, r.path.String(), resp, data, sent...)
}

// extGetJSON GETs path and decodes the answer into v.
func (c *Connector) extGetJSON(ctx context.Context, path connectors.Path, v any) error {
	return c.extGetJSONWith(ctx, extRequest{method: http.MethodGet, path: path}, v)
}

// extUnmarshal decodes an answer; its error is never shown, since the
// decoder's message may quote the answer.
func extUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
