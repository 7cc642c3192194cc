package wsapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// maxAnswer bounds an answer the client reads.
const maxAnswer = 32 << 20

// ClientAuth is the credential a Client sends: a bearer Token, else HTTP
// Basic User and Password when User is set.
type ClientAuth struct {
	Token          string
	User, Password string
}

// ErrUnauthorized is the error of a call the server refused with 401.
var ErrUnauthorized = errors.New("wsapi: the server refused the credential (401)")

// Client calls the web services of a [Handler] over REST or SOAP, as
// tuOtempO does (the simulator uses it).
type Client struct {
	base, transport string
	auth            ClientAuth
	hc              *http.Client

	mu     sync.Mutex
	binary map[string]map[string]bool // operation → Binary Out fields
}

// NewClient returns a client of the handler mounted at baseURL (the prefix
// URL, "https://bridge.example/tuotempo/ws/") over transport "rest" or
// "soap". hc nil is http.DefaultClient.
func NewClient(baseURL string, transport string, auth ClientAuth, hc *http.Client) *Client {
	if !strings.HasSuffix(baseURL, "/") {
		baseURL += "/"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	hc = connectors.TracedClient(hc)
	return &Client{base: baseURL, transport: transport, auth: auth, hc: hc}
}

// Call calls operation for center with params (CENTER_LID is set from
// center) and returns its records (one for a single-result operation),
// Binary fields decoded to raw bytes. A refusal of the server is a
// *ws.Error of its kind (BadRequest, NotFound, Unavailable) or
// ErrUnauthorized; transport failures are wrapped errors.
func (c *Client) Call(ctx context.Context, operation string, center string, params map[string]string) ([]ws.Record, error) {
	p := make(map[string]string, len(params)+1)
	for k, v := range params {
		p[k] = v
	}
	p[CenterParam] = center
	binary, err := c.binaryFields(ctx, operation)
	if err != nil {
		return nil, err
	}
	switch c.transport {
	case "rest":
		return c.callREST(ctx, operation, p, binary)
	case "soap":
		return c.callSOAP(ctx, operation, p, binary)
	}
	return nil, fmt.Errorf("wsapi: transport %q is neither rest nor soap", c.transport)
}

// binaryFields returns the Binary Out fields of operation, loading the
// catalogue (GET rest/) on first use and again for an operation it lacks
// (registered since).
func (c *Client) binaryFields(ctx context.Context, operation string) (map[string]bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.binary[operation]; !ok {
		u, err := c.url(connectors.PathOf("/rest"))
		if err != nil {
			return nil, fmt.Errorf("wsapi: operation catalogue: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("wsapi: operation catalogue: %w", err)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("wsapi: operation catalogue: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("wsapi: operation catalogue: HTTP %d", resp.StatusCode)
		}
		var help Help
		if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(&help); err != nil {
			return nil, fmt.Errorf("wsapi: operation catalogue: %w", err)
		}
		c.binary = map[string]map[string]bool{}
		for _, op := range help.Operations {
			m := map[string]bool{}
			for _, f := range op.Out {
				if f.Binary {
					m[f.Name] = true
				}
			}
			c.binary[op.Name] = m
		}
	}
	return c.binary[operation], nil
}

// do sends req with the credential and returns the status and body.
func (c *Client) do(req *http.Request) (int, []byte, error) {
	switch {
	case c.auth.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.auth.Token)
	case c.auth.User != "":
		req.SetBasicAuth(c.auth.User, c.auth.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("wsapi: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, nil, fmt.Errorf("wsapi: reading the answer of %s: %w", req.URL.Path, err)
	}
	return resp.StatusCode, b, nil
}

// decode turns Binary fields of rec from base64 into raw bytes.
func decode(rec ws.Record, binary map[string]bool) error {
	for k := range binary {
		if v, ok := rec[k]; ok {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("wsapi: field %s is not base64: %w", k, err)
			}
			rec[k] = string(raw)
		}
	}
	return nil
}

// url is the client's base with p appended.
func (c *Client) url(p connectors.Path) (string, error) {
	base, err := url.Parse(c.base)
	if err != nil {
		return "", fmt.Errorf("base URL: %w", err)
	}
	u, err := p.URL(base)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// callREST calls operation over REST.
func (c *Client) callREST(ctx context.Context, operation string, p map[string]string, binary map[string]bool) ([]ws.Record, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("wsapi: encoding the parameters of %s: %w", operation, err)
	}
	path := connectors.PathOf("/rest/{operation}", operation)
	u, err := c.url(path)
	if err != nil {
		return nil, fmt.Errorf("wsapi: %s: %w", operation, err)
	}
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, path), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("wsapi: %s: %w", operation, err)
	}
	req.Header.Set("Content-Type", "application/json")
	status, b, err := c.do(req)
	if err != nil {
		return nil, err
	}
	switch status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return nil, ErrUnauthorized
	case http.StatusBadRequest, http.StatusNotFound:
		var e restErrorBody
		_ = json.Unmarshal(b, &e)
		kind := ws.BadRequest
		if status == http.StatusNotFound {
			kind = ws.NotFound
		}
		return nil, &ws.Error{Kind: kind, Field: e.Field, Message: e.Error}
	case http.StatusServiceUnavailable:
		return nil, &ws.Error{Kind: ws.Unavailable, Message: "temporarily unavailable"}
	default:
		return nil, fmt.Errorf("wsapi: %s answered HTTP %d", operation, status)
	}
	var recs []ws.Record
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(t, &recs)
	} else {
		var rec ws.Record
		err = json.Unmarshal(t, &rec)
		recs = []ws.Record{rec}
	}
	if err != nil {
		return nil, fmt.Errorf("wsapi: the answer of %s is not records: %w", operation, err)
	}
	for _, rec := range recs {
		if err := decode(rec, binary); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// callSOAP calls operation over SOAP 1.1.
func (c *Client) callSOAP(ctx context.Context, operation string, p map[string]string, binary map[string]bool) ([]ws.Record, error) {
	if safeName(operation) == "" {
		return nil, fmt.Errorf("wsapi: operation name %q cannot be sent over SOAP", operation)
	}
	names := make([]string, 0, len(p))
	for k := range p {
		if safeName(k) == "" {
			return nil, fmt.Errorf("wsapi: parameter name %q cannot be sent over SOAP", k)
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var body strings.Builder
	body.WriteString("<tns:" + operation + ">")
	for _, k := range names {
		body.WriteString("<tns:" + k + ">" + escape(p[k]) + "</tns:" + k + ">")
	}
	body.WriteString("</tns:" + operation + ">")
	path := connectors.PathOf("/soap")
	u, err := c.url(path)
	if err != nil {
		return nil, fmt.Errorf("wsapi: %s: %w", operation, err)
	}
	req, err := http.NewRequestWithContext(connectors.WithPathTemplate(ctx, path), http.MethodPost, u, bytes.NewReader(soapEnvelope(body.String())))
	if err != nil {
		return nil, fmt.Errorf("wsapi: %s: %w", operation, err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+Namespace+"#"+operation+`"`)
	status, b, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if status == http.StatusUnauthorized {
		return nil, ErrUnauthorized
	}
	var env struct {
		Body struct {
			Fault *struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
				Detail struct {
					Kind  string `xml:"error>kind"`
					Field string `xml:"error>field"`
				} `xml:"detail"`
			} `xml:"Fault"`
			Response struct {
				XMLName xml.Name
				Results []struct {
					Fields []struct {
						XMLName xml.Name
						Value   string `xml:",chardata"`
					} `xml:",any"`
				} `xml:",any"`
			} `xml:",any"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("wsapi: the answer of %s (HTTP %d) is not a SOAP envelope: %w", operation, status, err)
	}
	if f := env.Body.Fault; f != nil {
		kind := ws.Unavailable
		for k, name := range kindNames {
			if f.Detail.Kind == name {
				kind = k
			}
		}
		if kind == ws.Unavailable && strings.HasSuffix(f.Code, ":Client") {
			kind = ws.BadRequest
		}
		return nil, &ws.Error{Kind: kind, Field: f.Detail.Field, Message: f.String}
	}
	if status != http.StatusOK || env.Body.Response.XMLName.Local != operation+"Response" {
		return nil, fmt.Errorf("wsapi: %s answered HTTP %d without its response element", operation, status)
	}
	recs := make([]ws.Record, 0, len(env.Body.Response.Results))
	for _, r := range env.Body.Response.Results {
		rec := ws.Record{}
		for _, f := range r.Fields {
			rec[f.XMLName.Local] = f.Value
		}
		if err := decode(rec, binary); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}
