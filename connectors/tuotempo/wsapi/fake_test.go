package wsapi

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// patientValue stands for patient data: it must never appear in an error,
// log line or metric.
const patientValue = "Maria Lopez 1970"

// binaryContent is every byte value plus XML and JSON metacharacters.
var binaryContent = func() string {
	var b []byte
	for i := range 256 {
		b = append(b, byte(i))
	}
	return string(b) + `<&>"'` + patientValue
}()

// errStore is an internal failure whose text holds patient data.
type errStore struct{}

func (errStore) Error() string { return "store down while reading " + patientValue }

// fakeRegistry holds a list operation (without a declared CENTER_LID) and
// a single operation with a Binary field whose DOWNLOAD_LID selects an
// error.
func fakeRegistry(t testing.TB) *ws.Registry {
	t.Helper()
	reg := &ws.Registry{}
	list := &ws.Operation{
		Name: "listThings", Section: "T.1", Doc: "Lists things from FROM_DAY.", List: true,
		In: []ws.Field{
			{Name: "FROM_DAY", Required: true, Max: 10, Doc: "First day, dd/mm/yyyy."},
			{Name: "NAME", Max: 5, Doc: "A name filter."},
		},
		Out: []ws.Field{{Name: "THING_LID", Required: true}, {Name: "THING_NAME"}, {Name: "CENTER"}},
		Call: func(_ context.Context, req *ws.Request) ([]ws.Record, error) {
			if req.Get("FROM_DAY") == "none" {
				return nil, nil
			}
			return []ws.Record{
				{"THING_LID": "t1", "THING_NAME": "first <&> " + req.Get("NAME"), "CENTER": req.Center, "NOT_OUT": "hidden"},
				{"THING_LID": "t2", "THING_NAME": "", "CENTER": req.Center},
			}, nil
		},
	}
	single := &ws.Operation{
		Name: "getDoc", Section: "T.2", Doc: "One document.",
		In:  []ws.Field{{Name: CenterParam, Required: true}, {Name: "DOWNLOAD_LID", Required: true, Max: 50}},
		Out: []ws.Field{{Name: "DOWNLOAD_LID"}, {Name: "DOWNLOAD_CONTENT", Binary: true}, {Name: "NOTE"}},
		Call: func(_ context.Context, req *ws.Request) ([]ws.Record, error) {
			switch req.Get("DOWNLOAD_LID") {
			case "missing":
				return nil, ws.Errorf(ws.NotFound, "DOWNLOAD_LID", "no such download")
			case "bad":
				return nil, ws.Errorf(ws.BadRequest, "DOWNLOAD_LID", "not a download id")
			case "busy":
				return nil, &ws.Error{Kind: ws.Unavailable, Message: "busy", Err: errStore{}}
			case "boom":
				return nil, errStore{}
			case "panic":
				panic(patientValue)
			case "two":
				return []ws.Record{{}, {}}, nil
			}
			return []ws.Record{{"DOWNLOAD_LID": req.Get("DOWNLOAD_LID"), "DOWNLOAD_CONTENT": binaryContent, "NOTE": "ok", "EXTRA": "x"}}, nil
		},
	}
	for _, op := range []*ws.Operation{list, single} {
		if err := reg.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// fakeCenters: c1 and c2 with tokens, c3 with HTTP Basic, c4 with both.
func fakeCenters() []ws.Center {
	return []ws.Center{
		{LID: "c1", Name: "One", Token: connectors.Secret("tok-1")},
		{LID: "c2", Name: "Two", Token: connectors.Secret("tok-2")},
		{LID: "c3", Name: "Three", Basic: &ws.Basic{User: "u3", Password: connectors.Secret("p3")}},
		{LID: "c4", Name: "Four", Token: connectors.Secret("tok-4"), Basic: &ws.Basic{User: "u4", Password: connectors.Secret("p4")}},
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a served handler with its log and metrics.
type env struct {
	srv  *httptest.Server
	base string // prefix URL
	log  *syncBuffer
	prom *prometheus.Registry
}

// serve serves the fake registry on a plain (tls false) or TLS server.
func serve(t *testing.T, tls bool, opt Options) *env {
	t.Helper()
	e := &env{log: &syncBuffer{}, prom: prometheus.NewRegistry()}
	opt.Log = slog.New(slog.NewJSONHandler(e.log, nil))
	opt.Registerer = e.prom
	mux := http.NewServeMux()
	mux.Handle(DefaultPrefix, Handler(fakeRegistry(t), fakeCenters(), opt))
	if tls {
		e.srv = httptest.NewTLSServer(mux)
	} else {
		e.srv = httptest.NewServer(mux)
	}
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + DefaultPrefix
	t.Cleanup(func() {
		if strings.Contains(e.log.String(), patientValue) || strings.Contains(e.log.String(), "tok-") {
			t.Errorf("the log holds patient data or a credential:\n%s", e.log.String())
		}
	})
	return e
}

// auth is a credential for a request.
type auth struct{ token, user, pass string }

func (a auth) set(r *http.Request) {
	switch {
	case a.token != "":
		r.Header.Set("Authorization", "Bearer "+a.token)
	case a.user != "":
		r.SetBasicAuth(a.user, a.pass)
	}
}

// post sends body to path (relative to the prefix) and returns the answer.
func (e *env) post(t *testing.T, path, ctype, body string, a auth, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	a.set(req)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), patientValue) {
		t.Errorf("answer holds patient data: %s", b)
	}
	return resp, string(b)
}

// soapBody wraps params of op in an envelope.
func soapBody(op string, params ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:fhirbridge:tuotempo:ws"><soapenv:Header/><soapenv:Body><t:` + op + `>`)
	for i := 0; i+1 < len(params); i += 2 {
		b.WriteString("<t:" + params[i] + ">" + escape(params[i+1]) + "</t:" + params[i] + ">")
	}
	b.WriteString(`</t:` + op + `></soapenv:Body></soapenv:Envelope>`)
	return b.String()
}
