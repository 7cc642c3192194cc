// Package ehr is the connector that writes changed FHIR resources back to
// the EHR's own FHIR endpoint. Flows that update resources the EHR owns
// (tuOtempO cancellations in batch/inbound, the Solo status flow in
// connectors/solo/solostatus) enqueue a delivery job on the flow
// delivery.EHRFlow in the transaction that stored the resource; the
// delivery Runner hands the stored version to [Connector.Deliver], with
// the queue's backoff, Retry-After, circuit breaker and dead letters.
//
// # Conditional write
//
// The EHR's copy may have changed since the bridge stored its version (a
// clinician edited the appointment's comment, say), so a delivery never
// sends the bridge's version whole. It reads the EHR's current copy
//
//	GET {BaseURL}/{type}/{id}
//
// applies onto it only the parts the flow owns ([Merge], table [Owned]:
// for an Appointment its status, cancelationReason and the identifiers
// and extensions the bridge adds), and writes it back conditionally:
//
//	PUT {BaseURL}/{type}/{id}
//	If-Match: W/"{the EHR's version}"
//	Content-Type: application/fhir+json
//
// (the version from the read's ETag, else its meta.versionId; an EHR that
// gives neither gets the merged copy without If-Match). When the merged
// copy equals the EHR's, nothing is written. A 412 (the EHR's copy changed
// between the read and the write) re-reads and re-applies, at most
// MaxConflicts times, then fails transiently, so the queue retries later
// (and after a restart: jobs live in the store). A 404 on the read means
// the EHR has no such resource yet: the bridge's version is created with
// a plain PUT (FHIR R4 "update as create"; R4 has no conditional create by
// id). A 410 (deleted in the EHR) is permanent: the write-back is a dead
// letter, not a resurrection.
//
// meta.versionId and meta.lastUpdated belong to the server that stores
// the resource and are never sent.
//
// # Authorization
//
// An Endpoint has a static bearer token (Token) or a TokenSource (SMART
// Backend Services, package connectors/ehr/smart). With a TokenSource, a
// 401 invalidates the token and the request is sent once more with a
// fresh one; a second 401 needs a reconnect (the job stays pending and the
// circuit opens). With a static token a 401 is permanent, as are 403 and
// every other 4xx except 408, 409 and 429.
//
// # Errors
//
// 408, 409, 429 and 5xx answers and network failures are transient (the
// server's Retry-After honoured). Errors carry the type, id, status code
// and the EHR's reason as connectors.VendorReason summarises it, never
// values of the resource, tokens or keys.
package ehr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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
	// empty and Tokens is nil).
	Token connectors.Secret
	// Tokens, when set, issues the bearer tokens instead of Token (SMART
	// Backend Services: connectors/ehr/smart.Source).
	Tokens TokenSource
	// Client sends the requests; nil means a client with a 30 s timeout.
	Client *http.Client
}

// Connector writes resources back to an Endpoint. Make it with New; it is safe
// for concurrent use.
type Connector struct {
	ep     Endpoint
	base   *url.URL
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// SetCallLogger makes the connector log each EHR call (method, path
// template, type, id, status; never a value, token or version) and each
// token renewal on log (delivery.CallLogger).
func (c *Connector) SetCallLogger(log *slog.Logger) {
	if log != nil {
		c.log = log
	}
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
	client = connectors.TracedClient(client)
	return &Connector{ep: ep, base: u, client: client, now: time.Now, log: slog.New(slog.DiscardHandler)}, nil
}

// resourcePath is the template of the EHR's resource URLs, the name of
// their client spans (connectors.Transport); it holds no value.
var resourcePath = connectors.PathOf("/{type}/{id}", "Type", "id")

// MaxConflicts bounds the re-reads after 412 answers within one Deliver:
// the write is tried at most MaxConflicts+1 times.
const MaxConflicts = 3

// MaxResource bounds a resource read from the EHR, in bytes.
const MaxResource = 8 << 20

// maxElements bounds the JSON values of a resource read from the EHR.
const maxElements = 200_000

// Deliver writes the flow's parts of d.Body, the stored resource
// d.ResourceType/d.ResourceID, into the EHR's copy (see the package
// documentation). The Result is empty: the EHR's id is ours.
func (c *Connector) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	typ, id := d.ResourceType, d.ResourceID
	fail := func(err error) (connectors.Result, error) {
		return connectors.Result{}, reword(err, "pushing "+typ+"/"+id+" to the EHR") // a FHIR reference, not a URL path
	}
	if d.Body == nil {
		return fail(connectors.Permanently(errors.New("no resource to send")))
	}
	u, err := connectors.PathOf("/{type}/{id}", typ, id).URL(c.base)
	if err != nil {
		return fail(connectors.Permanently(err))
	}
	ours := forEHR(d.Body)
	for conflicts := 0; ; conflicts++ {
		cur, version, err := c.read(ctx, u.String(), typ, id)
		if err != nil {
			return fail(err)
		}
		send, ifMatch := ours, ""
		if cur != nil {
			send = forEHR(Merge(cur, ours))
			if Same(send, forEHR(cur)) {
				return connectors.Result{}, nil // the EHR has our parts already
			}
			ifMatch = version
		}
		status, err := c.write(ctx, u.String(), send, ifMatch)
		if err != nil {
			return fail(err)
		}
		if status != http.StatusPreconditionFailed {
			return connectors.Result{}, nil
		}
		if conflicts >= MaxConflicts {
			return fail(connectors.Transiently(fmt.Errorf("the EHR's copy changed under %d writes in a row (412)", conflicts+1), 0))
		}
	}
}

// read GETs the EHR's copy: nil when it has none (404), with the version
// to send in If-Match ("" when the EHR gave none).
func (c *Connector) read(ctx context.Context, u, typ, id string) (*fhir.Value, string, error) {
	resp, err := c.ep.do(ctx, c.client, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, resourcePath), http.MethodGet, u, nil)
		if err == nil {
			req.Header.Set("Accept", "application/fhir+json")
		}
		return req, err
	}, c.log)
	if err != nil {
		return nil, "", fmt.Errorf("reading the EHR's copy: %w", err)
	}
	defer resp.Body.Close()
	c.log.DebugContext(ctx, "ehr call", "method", "GET", "path", "/{type}/{id}", "type", typ, "id", id, "status", resp.StatusCode)
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResource+1))
	if err != nil {
		return nil, "", connectors.Transiently(fmt.Errorf("reading the EHR's copy: %w", err), 0)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		return nil, "", nil
	case s == http.StatusGone:
		return nil, "", connectors.Permanently(errors.New("reading the EHR's copy: status 410: the resource was deleted in the EHR"))
	case s/100 != 2:
		return nil, "", c.refusal("reading the EHR's copy", resp, body, nil)
	}
	cur, version, err := ParseRead(body, resp.Header.Get("ETag"), typ, id)
	if err != nil {
		return nil, "", connectors.Permanently(fmt.Errorf("reading the EHR's copy: %w", err))
	}
	return cur, version, nil
}

// ParseRead checks the EHR's answer to a read of typ/id (at most
// MaxResource bytes): a FHIR JSON resource of that type and id. It returns
// the resource and the version for If-Match: etag when it is an entity
// tag, else W/"{meta.versionId}", else "". Errors name what is wrong,
// never a value.
func ParseRead(body []byte, etag, typ, id string) (*fhir.Value, string, error) {
	if len(body) > MaxResource {
		return nil, "", fmt.Errorf("the answer is over %d bytes", MaxResource)
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{MaxElements: maxElements})
	if err != nil { // the decoder's message may quote the content
		return nil, "", errors.New("the answer is not FHIR JSON")
	}
	if v.Kind != fhir.Object || v.ResourceType() != typ || v.GetString("id") != id {
		return nil, "", errors.New("the answer is another resource than the one read")
	}
	return v, versionOf(v, etag), nil
}

// versionOf returns the entity tag for If-Match.
func versionOf(v *fhir.Value, etag string) string {
	e := strings.TrimPrefix(etag, "W/")
	if len(e) >= 2 && len(e) <= 128 && e[0] == '"' && e[len(e)-1] == '"' && !strings.ContainsAny(e[1:len(e)-1], "\"\r\n") {
		return etag
	}
	vid := v.Get("meta").GetString("versionId")
	if vid == "" || len(vid) > 64 || strings.ContainsAny(vid, "\"\r\n\\") {
		return ""
	}
	return `W/"` + vid + `"`
}

// write PUTs res, with If-Match when ifMatch is set. It returns the status
// of a 2xx or 412 answer, else an error.
func (c *Connector) write(ctx context.Context, u string, res *fhir.Value, ifMatch string) (int, error) {
	sent := res.JSON()
	resp, err := c.ep.do(ctx, c.client, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, resourcePath), http.MethodPut, u, bytes.NewReader(sent))
		if err == nil {
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("Accept", "application/fhir+json")
			if ifMatch != "" {
				req.Header.Set("If-Match", ifMatch)
			}
		}
		return req, err
	}, c.log)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	c.log.DebugContext(ctx, "ehr call", "method", "PUT", "path", "/{type}/{id}", "type", res.ResourceType(), "id", res.GetString("id"), "status", resp.StatusCode, "conditional", ifMatch != "")
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if s := resp.StatusCode; s/100 == 2 || (s == http.StatusPreconditionFailed && ifMatch != "") {
		return s, nil
	}
	return 0, c.refusal("", resp, answer, sent)
}

// reword prefixes err's message with what, keeping its class: a
// classified failure stays one, its cause prefixed.
func reword(err error, what string) error {
	if f, ok := err.(*connectors.Failure); ok {
		return &connectors.Failure{Class: f.Class, RetryAfter: f.RetryAfter, Err: fmt.Errorf("%s: %w", what, f.Err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// refusal classifies a non-2xx answer: "status N: the EHR said: …".
func (c *Connector) refusal(what string, resp *http.Response, answer, sent []byte) error {
	said := ""
	if r := connectors.VendorReason(answer, sent); r != "" {
		said = ": the EHR said: " + r
	}
	if what != "" {
		what += ": "
	}
	err := fmt.Errorf("%sstatus %d%s", what, resp.StatusCode, said)
	if Permanent(resp.StatusCode) {
		return connectors.Permanently(err)
	}
	return connectors.Transiently(err, connectors.RetryAfter(resp.Header.Get("Retry-After"), c.now(), 0))
}

// Permanent reports an answer that sending the same request again cannot
// change: a 4xx other than 408 (Request Timeout), 409 (Conflict: a
// concurrent edit) and 429 (Too Many Requests), or a status outside
// 2xx–5xx. 401 and 403 are permanent: the EHR refused our credentials or
// this resource, which a retry repeats (a TokenSource's 401 is renewed
// before it gets here).
func Permanent(status int) bool {
	if status >= 500 && status < 600 {
		return false
	}
	return status != http.StatusRequestTimeout && status != http.StatusTooManyRequests && status != http.StatusConflict
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
// authorization (a TokenSource's 401 renewed once, as Deliver's).
// Errors are classified as Deliver's are: transient for 408, 409, 429,
// 5xx and network failures (Retry-After honoured), permanent otherwise;
// they name what (the string what, e.g. "Appointment/A1 booking
// transaction"), the status and the EHR's reason, never values.
func (c *Connector) Transaction(ctx context.Context, what string, bundle *fhir.Value) error {
	sent := bundle.JSON()
	resp, err := c.ep.do(ctx, c.client, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String(), bytes.NewReader(sent))
		if err == nil {
			req.Header.Set("Content-Type", "application/fhir+json")
			req.Header.Set("Accept", "application/fhir+json")
		}
		return req, err
	}, c.log)
	if err != nil {
		return reword(err, "sending "+what+" to the EHR")
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return reword(c.refusal("", resp, answer, sent), "sending "+what+" to the EHR")
}

// ForEHR returns res without meta.versionId and meta.lastUpdated, as
// Deliver sends it. res is not changed.
func ForEHR(res *fhir.Value) *fhir.Value { return forEHR(res) }
