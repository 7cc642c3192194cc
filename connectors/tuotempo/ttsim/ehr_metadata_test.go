package ttsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestEHRMetadata: the fake EHR answers GET /metadata with a
// CapabilityStatement, without a token, as `check --connect` expects of an
// EHR's FHIR base.
func TestEHRMetadata(t *testing.T) {
	srv := httptest.NewServer(NewEHR("tok"))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cs struct{ ResourceType, FHIRVersion string }
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil || resp.StatusCode != http.StatusOK || cs.ResourceType != "CapabilityStatement" {
		t.Fatalf("GET /metadata: %d %+v %v", resp.StatusCode, cs, err)
	}
}
