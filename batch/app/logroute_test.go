package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLogRoute(t *testing.T) {
	mux := http.NewServeMux()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle("POST /hooks/{token}", nop)
	mux.Handle("/console/", nop)
	mux.Handle("/", nop)
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/fhir", "/fhir"},
		{"GET", "/fhir/Patient/p1?name=Secret", "/fhir/Patient/p1"},
		{"POST", "/hooks/s3cr3t-token", "POST /hooks/{token}"},
		{"GET", "/console/deliveries/12", "/console/"},
		{"GET", "/elsewhere/s3cr3t", "/"},
	} {
		got := logRoute(mux, httptest.NewRequest(tc.method, tc.path, nil))
		if got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
