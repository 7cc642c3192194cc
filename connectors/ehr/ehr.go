// Package ehr is the connector that writes changed FHIR resources back to
// the EHR's own FHIR endpoint. Flows that update resources the EHR owns
// (tuOtempO cancellations in batch/inbound, the Solo status flow in
// connectors/solo/solostatus) enqueue a delivery job on the flow
// delivery.EHRFlow in the transaction that stored the resource; the
// delivery Runner hands the stored version to [Connector.Deliver], with
// the queue's backoff, Retry-After, circuit breaker and dead letters.
//
// A delivery is sent as
//
//	PUT {BaseURL}/{type}/{id}
//	Content-Type: application/fhir+json
//	Authorization: Bearer {token}
//
// without meta.versionId and meta.lastUpdated, which belong to the server
// that stores the resource (FHIR R4 RESTful API, "update"). Only a 2xx is a
// success. 408, 429 and 5xx answers and network failures are transient
// (the server's Retry-After honoured); every other answer, 401 and 403
// included (the EHR refused our credentials or this content), is
// permanent. Errors carry the type, id, status code and the EHR's reason
// as connectors.VendorReason summarises it, never values of the resource.
package ehr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Endpoint is the EHR's FHIR endpoint: the one shape every part of the
// bridge uses for it.
type Endpoint struct {
	// BaseURL is the FHIR base, e.g. "https://ehr.example/fhir"; resources
	// are PUT to BaseURL/{type}/{id}. Required.
	BaseURL string
	// Token is sent as "Authorization: Bearer <Token>" (no header when
	// empty).
	Token connectors.Secret
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
}

// Connector PUTs resources to an Endpoint. Make it with New; it is safe
// for concurrent use.
type Connector struct {
	ep     Endpoint
	base   *url.URL
	client *http.Client
	now    func() time.Time
}

var _ connectors.Connector = (*Connector)(nil)

// New validates ep and returns its connector.
func New(ep Endpoint) (*Connector, error) {
	u, err := url.Parse(ep.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("configuring the EHR write-back: the EHR needs an absolute http(s) base url")
	}
	client := ep.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &Connector{ep: ep, base: u, client: client, now: time.Now}, nil
}

// Deliver PUTs d.Body, the stored resource d.ResourceType/d.ResourceID, to
// the EHR. The Result is empty: the EHR's id is ours.
func (c *Connector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	typ, id := d.ResourceType, d.ResourceID
	if d.Body == nil {
		return connectors.Result{}, connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: no resource to send", typ, id)) // a FHIR reference, not a URL path
	}
	u, err := connectors.PathOf("/{type}/{id}", typ, id).URL(c.base)
	if err != nil {
		return connectors.Result{}, connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: %w", typ, id, err)) // a FHIR reference, not a URL path
	}
	sent := forEHR(d.Body).JSON()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(sent))
	if err != nil {
		return connectors.Result{}, connectors.Permanently(fmt.Errorf("pushing %s/%s to the EHR: building the request: %w", typ, id, err)) // a FHIR reference, not a URL path
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if tok := c.ep.Token.Reveal(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL; keep the cause
		}
		return connectors.Result{}, connectors.Transiently(fmt.Errorf("pushing %s/%s to the EHR: %w", typ, id, err), 0) // a FHIR reference, not a URL path
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	status := resp.StatusCode
	if status/100 == 2 {
		return connectors.Result{}, nil
	}
	said := ""
	if r := connectors.VendorReason(answer, sent); r != "" {
		said = ": the EHR said: " + r
	}
	err = fmt.Errorf("pushing %s/%s to the EHR: status %d%s", typ, id, status, said) // a FHIR reference, not a URL path
	if Permanent(status) {
		return connectors.Result{}, connectors.Permanently(err)
	}
	return connectors.Result{}, connectors.Transiently(err, connectors.RetryAfter(resp.Header.Get("Retry-After"), c.now(), 0))
}

// Permanent reports an answer that sending the same request again cannot
// change: a 4xx other than 408 (Request Timeout) and 429 (Too Many
// Requests), or a status outside 2xx–5xx. 401 and 403 are permanent: the
// EHR refused our credentials or this resource, which a retry repeats.
func Permanent(status int) bool {
	if status >= 500 && status < 600 {
		return false
	}
	return status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}

// forEHR returns res without meta.versionId and meta.lastUpdated, which
// belong to the server that stores the resource (and without meta when
// nothing else is left in it). res is not changed.
func forEHR(res *fhir.Value) *fhir.Value {
	if res.Kind != fhir.Object {
		return res
	}
	meta := res.Get("meta")
	if meta == nil || meta.Kind != fhir.Object {
		return res
	}
	m := fhir.NewObject()
	for _, x := range meta.Members {
		if x.Key != "versionId" && x.Key != "lastUpdated" {
			m.Members = append(m.Members, x)
		}
	}
	out := fhir.NewObject()
	for _, x := range res.Members {
		switch {
		case x.Key != "meta":
			out.Members = append(out.Members, x)
		case len(m.Members) > 0:
			out.Members = append(out.Members, fhir.Member{Key: "meta", Value: m})
		}
	}
	return out
}

// Transaction POSTs bundle, a FHIR transaction Bundle, to the EHR's base
// URL (FHIR R4 RESTful API, "transaction"), with the connector's
// authorization. Errors are classified as Deliver's are: transient for
// 408, 429, 5xx and network failures (Retry-After honoured), permanent
// otherwise; they name what (the string what, e.g. "Appointment/A1 booking
// transaction"), the status and the EHR's reason, never values.
func (c *Connector) Transaction(ctx context.Context, what string, bundle *fhir.Value) error {
	sent := bundle.JSON()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String(), bytes.NewReader(sent))
	if err != nil {
		return connectors.Permanently(fmt.Errorf("sending %s to the EHR: building the request: %w", what, err))
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	if tok := c.ep.Token.Reveal(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return connectors.Transiently(fmt.Errorf("sending %s to the EHR: %w", what, err), 0)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	said := ""
	if r := connectors.VendorReason(answer, sent); r != "" {
		said = ": the EHR said: " + r
	}
	err = fmt.Errorf("sending %s to the EHR: status %d%s", what, resp.StatusCode, said)
	if Permanent(resp.StatusCode) {
		return connectors.Permanently(err)
	}
	return connectors.Transiently(err, connectors.RetryAfter(resp.Header.Get("Retry-After"), c.now(), 0))
}

// ForEHR returns res without meta.versionId and meta.lastUpdated, as
// Deliver sends it. res is not changed.
func ForEHR(res *fhir.Value) *fhir.Value { return forEHR(res) }
