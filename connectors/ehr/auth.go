package ehr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// TokenSource issues the bearer tokens of an Endpoint that does not use a
// static token: connectors/ehr/smart's Source (SMART Backend Services).
type TokenSource interface {
	// Token returns a token to send, cached or fetched; its errors are
	// classified for the delivery queue (connectors.Classify).
	Token(ctx context.Context) (string, error)
	// Invalidate drops tok, which the EHR refused with 401, so the next
	// Token fetches a new one.
	Invalidate(tok string)
}

// ErrUnauthorized: the EHR answered 401 to a freshly issued token as well.
var ErrUnauthorized = errors.New("the EHR refused a fresh token (401)")

// bearer returns the token to send ("" for none).
func (ep *Endpoint) bearer(ctx context.Context) (string, error) {
	if ep.Tokens != nil {
		return ep.Tokens.Token(ctx)
	}
	return ep.Token.Reveal(), nil
}

// Do sends the request build makes, with the endpoint's authorization,
// and returns the answer (its body to be closed by the caller). With a
// TokenSource, a 401 invalidates the token and sends the request once
// more with a fresh one; a second 401 is returned as an error that needs
// a reconnect (ErrUnauthorized), so the delivery queue keeps the job and
// opens the circuit. With a static token, the 401 answer is returned.
// build is called once per attempt and must make a new request each time.
// Errors name the cause, never a token or the URL.
func (ep *Endpoint) Do(ctx context.Context, client *http.Client, build func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {
	return ep.do(ctx, client, build, nil)
}

// do is Do, logging a renewal on log when set.
func (ep *Endpoint) do(ctx context.Context, client *http.Client, build func(ctx context.Context) (*http.Request, error), log *slog.Logger) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := ep.bearer(ctx)
		if err != nil {
			return nil, fmt.Errorf("getting a token for the EHR: %w", err)
		}
		req, err := build(ctx)
		if err != nil {
			return nil, connectors.Permanently(fmt.Errorf("building the request: %w", err))
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its message repeats the URL; keep the cause
			}
			return nil, connectors.Transiently(err, 0)
		}
		if resp.StatusCode != http.StatusUnauthorized || ep.Tokens == nil {
			return resp, nil
		}
		resp.Body.Close()
		ep.Tokens.Invalidate(tok)
		if log != nil {
			log.InfoContext(ctx, "the EHR refused the access token (401): renewing it", "method", req.Method, "renewed_before", attempt)
		}
		if attempt > 0 {
			return nil, connectors.NeedsReconnect(ErrUnauthorized)
		}
	}
}
