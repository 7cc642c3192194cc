package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestFormatNegotiation sends each _format and Accept to every kind of
// route under /fhir: JSON is served, XML and the other formats get 406
// with an OperationOutcome, and nothing is committed for a 406.
func TestFormatNegotiation(t *testing.T) {
	const onlyJSON, onlyR4 = "only JSON is served", "FHIR R4"
	tests := []struct {
		name, query, accept string
		want                string // "" when served, else a substring of the 406 diagnostics
	}{
		{"nothing asked", "", "", ""},
		{"_format json", "_format=json", "", ""},
		{"_format JSON", "_format=JSON", "", ""},
		{"_format application/json", "_format=application/json", "", ""},
		{"_format fhir+json escaped", "_format=application%2Ffhir%2Bjson", "", ""},
		{"_format fhir+json with a raw plus", "_format=application/fhir+json", "", ""},
		{"_format fhir+json R4", "_format=" + url.QueryEscape("application/fhir+json; fhirVersion=4.0"), "", ""},
		{"_format empty", "_format=", "", ""},
		{"_format json beats an XML Accept", "_format=json", "application/fhir+xml", ""},
		{"_format xml", "_format=xml", "", onlyJSON},
		{"_format XML", "_format=XML", "", onlyJSON},
		{"_format text/xml", "_format=text/xml", "", onlyJSON},
		{"_format application/xml", "_format=application/xml", "", onlyJSON},
		{"_format fhir+xml escaped", "_format=application%2Ffhir%2Bxml", "", onlyJSON},
		{"_format fhir+xml with a raw plus", "_format=application/fhir+xml", "", onlyJSON},
		{"_format ttl", "_format=ttl", "", onlyJSON},
		{"_format turtle", "_format=turtle", "", onlyJSON},
		{"_format text/turtle", "_format=text/turtle", "", onlyJSON},
		{"_format html", "_format=html", "", onlyJSON},
		{"_format wildcard", "_format=*/*", "", onlyJSON},
		{"_format garbage", "_format=%3B%3B", "", onlyJSON},
		{"_format xml beats a JSON Accept", "_format=xml", "application/fhir+json", onlyJSON},
		{"_format json and xml", "_format=json&_format=xml", "", onlyJSON},
		{"_format STU3 JSON", "_format=" + url.QueryEscape("application/fhir+json; fhirVersion=3.0"), "", onlyR4},
		{"Accept fhir+json", "", "application/fhir+json", ""},
		{"Accept json", "", "application/json", ""},
		{"Accept any", "", "*/*", ""},
		{"Accept application/*", "", "application/*", ""},
		{"Accept fhir+json R4", "", "application/fhir+json; fhirVersion=4.0", ""},
		{"Accept XML then JSON", "", "application/fhir+xml, application/fhir+json;q=0.5", ""},
		{"Accept XML then any", "", "application/fhir+xml, */*;q=0.1", ""},
		{"Accept a browser's", "", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ""},
		{"Accept unparsable", "", ";;;", ""},
		{"Accept fhir+xml", "", "application/fhir+xml", onlyJSON},
		{"Accept xml", "", "application/xml", onlyJSON},
		{"Accept text/xml", "", "text/xml", onlyJSON},
		{"Accept XML types", "", "application/fhir+xml, application/xml;q=0.5, text/xml;q=0.1", onlyJSON},
		{"Accept turtle", "", "text/turtle", onlyJSON},
		{"Accept JSON refused by q=0", "", "application/fhir+json;q=0, application/fhir+xml", onlyJSON},
		{"Accept STU3 JSON", "", "application/fhir+json; fhirVersion=3.0", onlyR4},
		{"Accept STU3 JSON or XML", "", "application/fhir+json; fhirVersion=3.0, application/fhir+xml", onlyR4},
	}
	routes := []struct {
		name, method, path, body string
	}{
		{"metadata", "GET", "/fhir/metadata", ""},
		{"metadata HEAD", "HEAD", "/fhir/metadata", ""},
		{"read", "GET", "/fhir/Patient/p1", ""},
		{"search", "GET", "/fhir/Appointment?patient=Patient/p1", ""},
		{"create", "POST", "/fhir/Patient", patient},
		{"update", "PUT", "/fhir/Patient/p2", `{"resourceType":"Patient","id":"p2"}`},
		{"transaction", "POST", "/fhir", transactionN(2)},
		{"validate", "POST", "/fhir/Patient/$validate", patient},
		{"validate Bundle", "POST", "/fhir/$validate", transactionN(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Searches: map[string]Searcher{"Appointment": {Search: noSearch,
				Params: []SearchParam{{Name: "patient", Type: "reference"}}}}})
			if w := e.do("PUT", "/fhir/Patient/p1", strings.NewReader(`{"resourceType":"Patient","id":"p1"}`)); w.Code != http.StatusCreated {
				t.Fatalf("seeding: %d %s", w.Code, w.Body)
			}
			commits := e.fb.commitCount()
			for _, rt := range routes {
				path := rt.path
				if tt.query != "" {
					sep := "?"
					if strings.Contains(path, "?") {
						sep = "&"
					}
					path += sep + tt.query
				}
				var w *httptest.ResponseRecorder
				var hs []string
				if tt.accept != "" {
					hs = append(hs, "Accept: "+tt.accept)
				}
				if rt.body != "" {
					w = e.do(rt.method, path, strings.NewReader(rt.body), hs...)
				} else {
					w = e.do(rt.method, path, nil, hs...)
				}
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
					t.Errorf("%s: Content-Type %q", rt.name, ct)
				}
				if tt.want == "" {
					if w.Code == http.StatusNotAcceptable || w.Code >= 400 && w.Code != http.StatusNotFound {
						t.Errorf("%s: status %d: %s", rt.name, w.Code, w.Body)
					}
					continue
				}
				if w.Code != http.StatusNotAcceptable {
					t.Errorf("%s: status %d, want 406", rt.name, w.Code)
					continue
				}
				if rt.method == "HEAD" {
					continue
				}
				if oo := mustOutcome(t, w.Body.Bytes()); !strings.Contains(oo.Issue[0].Diagnostics, tt.want) {
					t.Errorf("%s: diagnostics %q, want %q", rt.name, oo.Issue[0].Diagnostics, tt.want)
				}
			}
			if tt.want != "" && e.fb.commitCount() != commits {
				t.Errorf("committed after a 406")
			}
		})
	}
}

// TestFormatAfterToken: a caller without a token learns nothing, not even
// which formats are served; metadata needs no token and negotiates too.
func TestFormatAfterToken(t *testing.T) {
	e := newEnv(t, Options{Tokens: []TokenHash{HashToken("tok")}})
	if w := e.do("GET", "/fhir/Patient/p1?_format=xml", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("read without a token: %d, want 401", w.Code)
	}
	if w := e.post("/fhir/Patient/$validate?_format=xml", patient); w.Code != http.StatusUnauthorized {
		t.Errorf("$validate without a token: %d, want 401", w.Code)
	}
	if w := e.do("GET", "/fhir/metadata?_format=xml", nil); w.Code != http.StatusNotAcceptable {
		t.Errorf("metadata as XML: %d, want 406", w.Code)
	}
	if w := e.do("GET", "/fhir/Patient/p1?_format=xml", nil, "Authorization: Bearer tok"); w.Code != http.StatusNotAcceptable {
		t.Errorf("read as XML with the token: %d, want 406", w.Code)
	}
}

// FuzzNegotiate checks format negotiation on any _format and Accept: it
// never panics, a refusal is a 406 with a fixed text (never the input),
// _format=json is always served whatever Accept says, and adding a JSON
// range to an Accept header makes it acceptable.
func FuzzNegotiate(f *testing.F) {
	f.Add("", "")
	f.Add("xml", "")
	f.Add("application/fhir+json; fhirVersion=4.0", "")
	f.Add("", "application/fhir+xml, application/fhir+json;q=0.5")
	f.Add("", "application/fhir+json; fhirVersion=3.0")
	f.Add("", "text/html;q=\"0\", */*;q=0")
	f.Add("application/fhir json", "application/*;q=abc")
	f.Fuzz(func(t *testing.T, format, accept string) {
		req := func(format, accept string) *http.Request {
			r := httptest.NewRequest("GET", "/fhir/metadata", nil)
			if format != "" {
				r.URL.RawQuery = url.Values{"_format": {format}}.Encode()
			}
			r.Header.Set("Accept", accept)
			return r
		}
		e := negotiate(req(format, accept))
		if e != nil {
			if e.status != http.StatusNotAcceptable || len(e.oo.Issues) != 1 {
				t.Fatalf("refusal %d with %d issues", e.status, len(e.oo.Issues))
			}
			d := e.oo.Issues[0].Diagnostics
			if !strings.HasPrefix(d, "only JSON is served") && !strings.HasPrefix(d, "this server only answers in FHIR R4") {
				t.Fatalf("unexpected diagnostics %q", d)
			}
		}
		if e := negotiate(req("json", accept)); e != nil {
			t.Fatalf("_format=json refused with Accept %q", accept)
		}
		if e := negotiate(req("", accept+",application/fhir+json")); e != nil {
			t.Fatalf("Accept %q with a JSON range refused", accept)
		}
		if strings.TrimSpace(format) == "" && strings.TrimSpace(accept) == "" && e != nil {
			t.Fatalf("refused without _format or Accept")
		}
	})
}

// noSearch finds nothing.
func noSearch(context.Context, url.Values) ([]*fhir.Value, error) { return nil, nil }
