package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTokenBeforeRouting(t *testing.T) {
	const tok = "the-token"
	e := newEnv(t, Options{Tokens: []TokenHash{HashToken(tok)}})
	tests := []struct {
		name, method, path, body string
		want                     int // with the token; without it, always 401
	}{
		{"unknown type", "POST", "/fhir/Spaceship", patient, http.StatusNotFound},
		{"unknown type read", "GET", "/fhir/Spaceship/1", "", http.StatusNotFound},
		{"unknown route", "GET", "/fhir/Patient/1/_history/2", "", http.StatusNotFound},
		{"wrong method on base", "GET", "/fhir", "", http.StatusMethodNotAllowed},
		{"wrong method on instance", "PATCH", "/fhir/Patient/1", "", http.StatusMethodNotAllowed},
		{"bad body", "POST", "/fhir/Patient", "{", http.StatusBadRequest},
		{"missing resource", "GET", "/fhir/Patient/nope", "", http.StatusNotFound},
		{"create", "POST", "/fhir/Patient", patient, http.StatusCreated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body *strings.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			do := func(headers ...string) int {
				if body == nil {
					return e.do(tt.method, tt.path, nil, headers...).Code
				}
				body.Seek(0, 0)
				return e.do(tt.method, tt.path, body, headers...).Code
			}
			if got := do(); got != http.StatusUnauthorized {
				t.Errorf("without a token: %d, want 401", got)
			}
			if got := do("Authorization: Bearer wrong"); got != http.StatusUnauthorized {
				t.Errorf("with a wrong token: %d, want 401", got)
			}
			if got := do("Authorization: Bearer " + tok); got != tt.want {
				t.Errorf("with the token: %d, want %d", got, tt.want)
			}
		})
	}
	if w := e.do("GET", "/fhir/metadata", nil); w.Code != http.StatusOK {
		t.Errorf("metadata without a token: %d, want 200", w.Code)
	}
}

func TestFHIRVersion(t *testing.T) {
	tests := []struct {
		name, method, path, contentType, accept string
		want                                    int
	}{
		{"R4 content", "POST", "/fhir/Patient", "application/fhir+json; fhirVersion=4.0", "", http.StatusCreated},
		{"R4.0.1 content", "POST", "/fhir/Patient", "application/fhir+json; fhirVersion=4.0.1", "", http.StatusCreated},
		{"STU3 content", "POST", "/fhir/Patient", "application/fhir+json; fhirVersion=3.0", "", http.StatusUnsupportedMediaType},
		{"R5 content", "POST", "/fhir", "application/fhir+json;fhirVersion=5.0", "", http.StatusUnsupportedMediaType},
		{"STU3 content, name in another case", "POST", "/fhir/Patient", "application/fhir+json; FHIRVERSION=3.0", "", http.StatusUnsupportedMediaType},
		{"STU3 accepted", "POST", "/fhir/Patient", "application/fhir+json", "application/fhir+json; fhirVersion=3.0", http.StatusNotAcceptable},
		{"STU3 accepted on read", "GET", "/fhir/Patient/p1", "", "application/fhir+json; fhirVersion=3.0", http.StatusNotAcceptable},
		{"STU3 accepted on metadata", "GET", "/fhir/metadata", "", "application/fhir+json; fhirVersion=3.0", http.StatusNotAcceptable},
		{"STU3 or R4 accepted", "POST", "/fhir/Patient", "application/fhir+json", "application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0", http.StatusCreated},
		{"STU3 or anything accepted", "POST", "/fhir/Patient", "application/fhir+json", "application/fhir+json; fhirVersion=3.0, */*;q=0.1", http.StatusCreated},
		{"R4 accepted", "GET", "/fhir/metadata", "", "application/fhir+json; fhirVersion=4.0", http.StatusOK},
		{"no version", "GET", "/fhir/metadata", "", "application/fhir+json", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			var hs []string
			if tt.accept != "" {
				hs = append(hs, "Accept: "+tt.accept)
			}
			var w *httptest.ResponseRecorder
			if tt.method == "POST" {
				body := patient
				if tt.path == "/fhir" {
					body = transactionN(2)
				}
				w = e.post(tt.path, body, append(hs, "Content-Type: "+tt.contentType)...)
			} else {
				w = e.do(tt.method, tt.path, nil, hs...)
			}
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want >= 400 {
				if oo := mustOutcome(t, w.Body.Bytes()); !strings.Contains(oo.Issue[0].Diagnostics, "R4") {
					t.Errorf("outcome %+v does not name R4", oo)
				}
				if tt.want != http.StatusNotAcceptable && e.fb.commitCount() != 0 {
					t.Errorf("committed")
				}
			}
		})
	}
}

func TestMetricsAuth(t *testing.T) {
	const tok = "metrics-token"
	tests := []struct {
		name   string
		opt    Options
		header string
		want   int
	}{
		{"open by default", Options{Tokens: []TokenHash{HashToken(tok)}}, "", http.StatusOK},
		{"switch on, no token", Options{Tokens: []TokenHash{HashToken(tok)}, MetricsAuth: true}, "", http.StatusUnauthorized},
		{"switch on, wrong token", Options{Tokens: []TokenHash{HashToken(tok)}, MetricsAuth: true}, "Authorization: Bearer no", http.StatusUnauthorized},
		{"switch on, token", Options{Tokens: []TokenHash{HashToken(tok)}, MetricsAuth: true}, "Authorization: Bearer " + tok, http.StatusOK},
		{"switch on, no tokens configured", Options{MetricsAuth: true}, "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opt)
			e.do("GET", "/healthz", nil) // a first series to expose
			var hs []string
			if tt.header != "" {
				hs = append(hs, tt.header)
			}
			w := e.do("GET", "/metrics", nil, hs...)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			if w.Code == http.StatusOK && !strings.Contains(w.Body.String(), "fhirbridge_http_requests_total") {
				t.Errorf("no metrics in %.200s", w.Body)
			}
			if w.Code == http.StatusUnauthorized && strings.Contains(w.Body.String(), "fhirbridge_") {
				t.Errorf("metrics served without a token")
			}
		})
	}
}

func TestUnknownElementEcho(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"element name", "colour", "Patient.colour"},
		{"capitalised word", "Smith", "Patient.?"},
		{"canary", canaryName, "Patient.?"},
		{"long", strings.Repeat("a", 200), "Patient.?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			w := e.post("/fhir/Patient", `{"resourceType":"Patient","`+tt.key+`":1}`)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d", w.Code)
			}
			oo := mustOutcome(t, w.Body.Bytes())
			if len(oo.Issue[0].Expression) != 1 || oo.Issue[0].Expression[0] != tt.want {
				t.Errorf("expression %v, want %s", oo.Issue[0].Expression, tt.want)
			}
		})
	}
}
