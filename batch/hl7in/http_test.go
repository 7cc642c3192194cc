package hl7in

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// TestPostHL7v2 is the POST /hl7v2 round trip: the ACK is the body, the
// resource is in the store, and the endpoint checks method, token, media
// type and size.
func TestPostHL7v2(t *testing.T) {
	r := newRig(t, sqliteURL(t))
	const token = "s3cret-token"
	srv := httptest.NewServer(&HTTPHandler{Handler: r.h, Tokens: []server.TokenHash{server.HashToken(token)}, MaxBytes: 4096})
	t.Cleanup(srv.Close)
	post := func(method, ctype, auth string, body []byte) (int, string, []byte) {
		req, _ := http.NewRequest(method, srv.URL, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r.acks.Write(b)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	msg := adt("A04", "H1", canaryMRN, canaryDOB)
	tests := []struct {
		name, method, ctype, auth string
		body                      []byte
		status                    int
		ack                       string
	}{
		{"accepted", "POST", ContentType, token, msg, 200, "AA"},
		{"replayed", "POST", "application/hl7-v2; charset=utf-8", token, msg, 200, "AA"},
		{"text/plain", "POST", "text/plain", token, adt("A08", "H2", canaryMRN, "19700101"), 200, "AA"},
		{"mapping error", "POST", ContentType, token, adt("A04", "H3", canaryMRN, "19XX"), 200, "AE"},
		{"unsupported event", "POST", ContentType, token, adt("A99", "H4", canaryMRN, canaryDOB), 200, "AR"},
		{"no token", "POST", ContentType, "", msg, 401, ""},
		{"bad token", "POST", ContentType, "nope", msg, 401, ""},
		{"GET", "GET", ContentType, token, nil, 405, ""},
		{"JSON", "POST", "application/fhir+json", token, msg, 415, ""},
		{"too large", "POST", ContentType, token, append(bytes.Clone(msg), bytes.Repeat([]byte("NTE|1||x\r"), 1000)...), 413, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := post(tc.method, tc.ctype, tc.auth, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.ack == "" {
				return
			}
			if ctype != ContentType {
				t.Errorf("Content-Type %q", ctype)
			}
			ack, err := hl7v2.Parse(body)
			if err != nil {
				t.Fatalf("ACK does not parse: %v", err)
			}
			if got := field(t, ack, "MSA-1"); got != tc.ack {
				t.Errorf("MSA-1 %q, want %s", got, tc.ack)
			}
		})
	}
	p, v := r.patient(canaryMRN)
	if p == nil || v != 2 {
		t.Errorf("after A04, its replay and A08: version %d, want 2", v)
	}
	if !strings.Contains(r.logs.String(), "transport=http") {
		t.Errorf("transport not logged")
	}
	r.noCanary()
}
