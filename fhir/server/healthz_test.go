package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir/buildinfo"
)

func TestHealthzBuildInfo(t *testing.T) {
	w := httptest.NewRecorder()
	writeHealthz(w)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var got struct {
		Status string `json:"status"`
		buildinfo.Info
	}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if got.Status != "ok" || got.Info != buildinfo.Get() {
		t.Errorf("got %+v, want status ok and %+v", got, buildinfo.Get())
	}
}
