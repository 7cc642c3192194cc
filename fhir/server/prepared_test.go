package server

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir"
)

func TestPrepareTransaction(t *testing.T) {
	patient := `{"fullUrl":"urn:uuid:00000000-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","identifier":[{"system":"urn:s","value":"1"}],"birthDate":%q},"request":{"method":"PUT","url":"Patient?identifier=urn:s|1"}}`
	bundle := func(typ, ident, dob string) string {
		b := `{"resourceType":"Bundle","type":"` + typ + `"`
		if ident != "" {
			b += `,"identifier":{"system":"urn:x","value":"` + ident + `"}`
		}
		return b + `,"entry":[` + strings.Replace(patient, "%q", `"`+dob+`"`, 1) + `]}`
	}
	tests := []struct {
		name, body, wantKey, wantErr string
	}{
		{"with identifier", bundle("transaction", "m1", "1961-04-23"), "identifier:urn:x|m1", ""},
		{"without identifier", bundle("transaction", "", "1961-04-23"), "sha256:", ""},
		{"batch", bundle("batch", "m1", "1961-04-23"), "", "Bundle.type"},
		{"invalid resource", bundle("transaction", "m1", "1961-13-23"), "", "birthDate"},
		{"unserved type", strings.Replace(bundle("transaction", "m1", "1961-04-23"), `"Patient"`, `"Observation"`, 1), "", "Bundle.entry[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := fhir.Decode([]byte(tc.body), fhir.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			req, oo := PrepareTransaction(v, nil)
			if tc.wantErr != "" {
				if req != nil || !oo.HasErrors() || !strings.Contains(string(oo.JSON()), tc.wantErr) {
					t.Fatalf("req %v, outcome %s; want an error at %s", req, oo.JSON(), tc.wantErr)
				}
				return
			}
			if oo.HasErrors() {
				t.Fatalf("outcome %s", oo.JSON())
			}
			if !strings.HasPrefix(req.Key, tc.wantKey) || req.Kind != KindTransaction || len(req.Entries) != 1 ||
				req.Entries[0].Condition == nil || req.Entries[0].Type != "Patient" {
				t.Fatalf("request %+v", req)
			}
			if (req.BodyHash != "") != strings.HasPrefix(tc.wantKey, "identifier:") {
				t.Errorf("BodyHash %q for key %q", req.BodyHash, req.Key)
			}
			status, body := req.Response(&Result{Entries: []EntryResult{{ID: "p1", Version: 1, Created: true}}})
			if status != 200 || !strings.Contains(string(body), `"location":"Patient/p1/_history/1"`) {
				t.Errorf("response %d %s", status, body)
			}
		})
	}
}

func TestAuthorized(t *testing.T) {
	tokens := []TokenHash{HashToken("good")}
	for _, tc := range []struct {
		auth   string
		tokens []TokenHash
		want   bool
	}{
		{"Bearer good", tokens, true},
		{"bearer good", tokens, true},
		{"Bearer bad", tokens, false},
		{"", tokens, false},
		{"Basic good", tokens, false},
		{"", nil, true},
	} {
		r := httptest.NewRequest("POST", "/hl7v2", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := Authorized(tc.tokens, r); got != tc.want {
			t.Errorf("Authorized(%q, %d tokens) = %t", tc.auth, len(tc.tokens), got)
		}
	}
}
