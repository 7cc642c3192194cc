package ehr

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// patientValue is a patient value: it must never reach an error.
const patientValue = "Jane Q. Patient"

// answer is one reply of the fake EHR.
type answer struct {
	status     int
	retryAfter string
}

// fakeEHR answers PUTs from a script (200 once it runs out), quoting the
// request body in every error answer as some servers do, and records the
// requests. It reads back what a successful PUT stored (404 before), with
// no versions: the conditional write sends no If-Match then.
type fakeEHR struct {
	mu     sync.Mutex
	script []answer
	reqs   []request
	stored map[string][]byte
	gets   int
}

type request struct {
	method, path, auth, ctype string
	body                      map[string]any
}

func (f *fakeEHR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	if r.Method == http.MethodGet {
		f.gets++
		res, ok := f.stored[r.URL.EscapedPath()]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Write(res)
		return
	}
	f.reqs = append(f.reqs, request{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body})
	a := answer{status: 200}
	if len(f.script) > 0 {
		a, f.script = f.script[0], f.script[1:]
	}
	if a.status/100 == 2 {
		if f.stored == nil {
			f.stored = map[string][]byte{}
		}
		f.stored[r.URL.EscapedPath()] = b
	}
	f.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	if a.status/100 != 2 {
		io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"diagnostics":"bad: `+string(b)+`"}]}`)
	}
}

// requests returns the PUTs (and POSTs) the fake saw.
func (f *fakeEHR) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// newFake starts a fake EHR and a connector to it (base .../fhir/).
func newFake(t *testing.T, script ...answer) (*fakeEHR, *Connector) {
	t.Helper()
	f := &fakeEHR{script: script}
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	c, err := New(Endpoint{BaseURL: hs.URL + "/fhir/", Token: "ehr-token", Client: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func patient(t *testing.T, id string) *fhir.Value {
	t.Helper()
	v, err := fhir.DecodeString(`{"resourceType":"Patient","id":"`+id+`","meta":{"versionId":"9","lastUpdated":"2026-01-01T00:00:00Z","source":"x"},"name":[{"family":"`+patientValue+`"}]}`, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDeliver: the request the EHR sees and how each answer is classified.
func TestDeliver(t *testing.T) {
	tests := []struct {
		name       string
		answer     answer
		class      connectors.Class // of the error; ignored when ok
		ok         bool
		retryAfter time.Duration
	}{
		{name: "200", answer: answer{status: 200}, ok: true},
		{name: "201", answer: answer{status: 201}, ok: true},
		{name: "503 transient", answer: answer{status: 503}, class: connectors.Transient},
		{name: "500 transient", answer: answer{status: 500}, class: connectors.Transient},
		{name: "408 transient", answer: answer{status: 408}, class: connectors.Transient},
		{name: "429 honours Retry-After", answer: answer{status: 429, retryAfter: "120"}, class: connectors.Transient, retryAfter: 2 * time.Minute},
		{name: "503 honours Retry-After", answer: answer{status: 503, retryAfter: "7"}, class: connectors.Transient, retryAfter: 7 * time.Second},
		{name: "401 permanent", answer: answer{status: 401}, class: connectors.Permanent},
		{name: "403 permanent", answer: answer{status: 403}, class: connectors.Permanent},
		{name: "404 permanent", answer: answer{status: 404}, class: connectors.Permanent},
		{name: "422 permanent", answer: answer{status: 422}, class: connectors.Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, tc.answer)
			_, err := c.Deliver(context.Background(), connectors.Delivery{Flow: "ehr", ResourceType: "Patient", ResourceID: "p1",
				Op: connectors.Update, Body: patient(t, "p1")})
			if tc.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				class, ra := connectors.Classify(err)
				if class != tc.class || ra != tc.retryAfter {
					t.Errorf("class %s retry-after %s, want %s %s", class, ra, tc.class, tc.retryAfter)
				}
				if strings.Contains(err.Error(), patientValue) || strings.Contains(err.Error(), "Jane") {
					t.Errorf("patient value in %q", err)
				}
				if want := "Patient/p1 to the EHR: status "; !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.method != "PUT" || r.path != "/fhir/Patient/p1" || r.auth != "Bearer ehr-token" || r.ctype != "application/fhir+json" {
				t.Errorf("request %+v", r)
			}
			meta, _ := r.body["meta"].(map[string]any)
			if r.body["resourceType"] != "Patient" || r.body["id"] != "p1" || meta["versionId"] != nil || meta["lastUpdated"] != nil || meta["source"] != "x" {
				t.Errorf("body %v", r.body)
			}
		})
	}
}

// TestRefusalKeepsEHRWording: the EHR's answer is summarised in the
// error in its words, while the resource it quotes back (pasted unescaped,
// so the answer is not even JSON) is not.
func TestRefusalKeepsEHRWording(t *testing.T) {
	_, c := newFake(t, answer{status: 422})
	_, err := c.Deliver(context.Background(), connectors.Delivery{ResourceType: "Patient", ResourceID: "p-1", Body: patient(t, "p-1")})
	if err == nil {
		t.Fatal("want a refusal")
	}
	if want := "status 422: the EHR said: "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

// TestPutPathSegments: the type and id are one escaped segment each; "."
// and ".." never reach the EHR (they would name another resource).
func TestPutPathSegments(t *testing.T) {
	cases := []struct {
		name, typ, id string
		want          string // the path the EHR sees; "" for a refusal
	}{
		{"plain", "Patient", "p-1", "/fhir/Patient/p-1"},
		{"slash escaped", "Patient", "a/b", "/fhir/Patient/a%2Fb"},
		{"percent escaped once", "Patient", "50%", "/fhir/Patient/50%25"},
		{"id dot-dot", "Patient", "..", ""},
		{"id dot", "Patient", ".", ""},
		{"type dot-dot", "..", "p-1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t)
			_, err := c.Deliver(context.Background(), connectors.Delivery{ResourceType: tc.typ, ResourceID: tc.id, Body: fhir.NewObject()})
			reqs := f.requests()
			if tc.want == "" {
				if !errors.Is(err, connectors.ErrPathSegment) {
					t.Fatalf("err %v, want ErrPathSegment", err)
				}
				if class, _ := connectors.Classify(err); class != connectors.Permanent {
					t.Errorf("class %s, want permanent", class)
				}
				if len(reqs) != 0 {
					t.Errorf("%d requests reached the EHR", len(reqs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) != 1 || reqs[0].path != tc.want {
				t.Errorf("requests %+v, want one to %s", reqs, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, base := range []string{"", "ehr.example/fhir", "ftp://ehr.example/fhir", "https://"} {
		if _, err := New(Endpoint{BaseURL: base}); err == nil {
			t.Errorf("New(%q) accepted", base)
		}
	}
	if _, err := New(Endpoint{BaseURL: "https://ehr.example/fhir"}); err != nil {
		t.Errorf("New refused a good base: %v", err)
	}
}
