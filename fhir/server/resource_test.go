package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestCreateReadUpdate(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.post("/fhir/Patient", patient)
	if w.Code != 201 || w.Header().Get("Location") != "/fhir/Patient/id1/_history/1" || w.Header().Get("ETag") != `W/"1"` {
		t.Fatalf("create: %d %v %s", w.Code, w.Header(), w.Body)
	}
	r := e.do("GET", "/fhir/Patient/id1", nil)
	if r.Code != 200 || r.Header().Get("ETag") != `W/"1"` || r.Header().Get("Last-Modified") == "" {
		t.Fatalf("read: %d %v", r.Code, r.Header())
	}
	upd := strings.Replace(patient, `{`, `{"id":"id1",`, 1)
	u := e.do("PUT", "/fhir/Patient/id1", strings.NewReader(upd))
	if u.Code != 200 || u.Header().Get("ETag") != `W/"2"` {
		t.Fatalf("update: %d %v %s", u.Code, u.Header(), u.Body)
	}
	if m := e.do("GET", "/fhir/Patient/nope", nil); m.Code != 404 {
		t.Errorf("missing read: %d", m.Code)
	} else {
		mustOutcome(t, m.Body.Bytes())
	}
	if c := e.do("PUT", "/fhir/Patient/other", strings.NewReader(upd)); c.Code != 400 {
		t.Errorf("PUT with mismatched id: %d", c.Code)
	}
	if p := e.post("/fhir/Patient", patient+" ", "Prefer: return=minimal"); p.Code != 201 || p.Body.Len() != 0 {
		t.Errorf("return=minimal: %d %q", p.Code, p.Body)
	}
}

func TestConditionalCreate(t *testing.T) {
	e := newEnv(t, Options{})
	ine := "If-None-Exist: identifier=urn:mrn|1"
	w1 := e.post("/fhir/Patient", patient, ine)
	w2 := e.post("/fhir/Patient", patient+"\n", ine)
	if w1.Code != 201 || w2.Code != 200 || w2.Header().Get("Location") != w1.Header().Get("Location") {
		t.Fatalf("got %d %s then %d %s", w1.Code, w1.Header().Get("Location"), w2.Code, w2.Header().Get("Location"))
	}
	if got := e.fb.committed[0].IfNoneExist; got != "identifier=urn:mrn|1" {
		t.Errorf("If-None-Exist passed as %q", got)
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		method, path, ctype string
		want                int
	}{
		{"GET", "/fhir", "", 405},
		{"PATCH", "/fhir/Patient/1", "", 405},
		{"GET", "/fhir/Patient", "", 405},
		{"POST", "/fhir/Observation", "application/fhir+json", 404},
		{"GET", "/fhir/Patient/1/_history/1", "", 404},
		{"GET", "/other", "", 404},
		{"POST", "/fhir/Patient", "text/plain", 415},
		{"POST", "/fhir/Patient", "application/xml", 415},
		{"POST", "/fhir/Patient", "application/json; charset=latin1", 415},
		{"POST", "/fhir/Patient", "application/json", 201},
		{"POST", "/fhir/Patient", "application/fhir+json; charset=utf-8", 201},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(tt.method, tt.path, strings.NewReader(patient))
		if tt.ctype != "" {
			r.Header.Set("Content-Type", tt.ctype)
		}
		w := newRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s %s (%s): %d, want %d: %s", tt.method, tt.path, tt.ctype, w.Code, tt.want, w.Body)
			continue
		}
		if tt.want >= 400 {
			mustOutcome(t, w.Body.Bytes())
		}
		if tt.want == 405 && w.Header().Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tt.method, tt.path)
		}
	}
}

func TestMetadata(t *testing.T) {
	types := []string{"Patient", "Appointment"}
	e := newEnv(t, Options{Types: types})
	w := e.do("GET", "/fhir/metadata", nil)
	if w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	v, err := fhir.Decode(w.Body.Bytes(), fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if oo := fhir.Validate(v, ""); oo.HasErrors() {
		t.Fatalf("invalid CapabilityStatement: %v", oo)
	}
	var cs struct {
		ResourceType string
		Rest         []struct {
			Resource []struct {
				Type        string
				Interaction []struct{ Code string }
			}
			Interaction []struct{ Code string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &cs); err != nil || cs.ResourceType != "CapabilityStatement" {
		t.Fatalf("%v %s", err, w.Body)
	}
	var got []string
	for _, r := range cs.Rest[0].Resource {
		got = append(got, r.Type)
		if len(r.Interaction) != 4 {
			t.Errorf("%s: %d interactions", r.Type, len(r.Interaction))
		}
	}
	if strings.Join(got, ",") != strings.Join(types, ",") {
		t.Errorf("types %v, want %v", got, types)
	}
	if len(cs.Rest[0].Interaction) != 2 {
		t.Errorf("system interactions %v", cs.Rest[0].Interaction)
	}
}

func TestAuth(t *testing.T) {
	tok, err := NewToken()
	if err != nil || len(tok) != 43 {
		t.Fatalf("NewToken: %q %v", tok, err)
	}
	e := newEnv(t, Options{Tokens: []TokenHash{HashToken("other"), HashToken(tok)}})
	tests := []struct {
		name, header string
		want         int
	}{
		{"none", "", 401},
		{"wrong", "Authorization: Bearer nope", 401},
		{"basic", "Authorization: Basic " + tok, 401},
		{"right", "Authorization: Bearer " + tok, 201},
	}
	for _, tt := range tests {
		var hs []string
		if tt.header != "" {
			hs = append(hs, tt.header)
		}
		w := e.post("/fhir/Patient", patient, hs...)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
		if tt.want == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tt.name, w.Header().Get("WWW-Authenticate"))
		}
		if strings.Contains(e.log.String(), tok) {
			t.Fatalf("token in log")
		}
	}
	if w := e.do("GET", "/fhir/Patient/id1", nil); w.Code != 401 {
		t.Errorf("read without token: %d", w.Code)
	}
	if w := e.do("GET", "/fhir/metadata", nil); w.Code != 200 {
		t.Errorf("metadata without token: %d", w.Code)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, Options{})
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if w := e.do("GET", p, nil); w.Code != 200 {
			t.Errorf("%s: %d", p, w.Code)
		}
	}
	e.post("/fhir/Patient", "{")
	if m := e.metricsText(t); !strings.Contains(m, `fhirbridge_http_requests_total{code="400",route="type"} 1`) ||
		!strings.Contains(m, "fhirbridge_http_request_duration_seconds_bucket") ||
		!strings.Contains(m, `fhirbridge_http_bodies_rejected_total{reason="invalid_json"} 1`) {
		t.Errorf("metrics:\n%s", m)
	}
}
