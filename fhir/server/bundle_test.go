package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestTransactionWithOneInvalidEntryCommitsNothing(t *testing.T) {
	tests := []struct {
		name     string
		bad      string // the invalid entry, placed at index 1
		wantExpr string
	}{
		{"appointment without status", entry("urn:uuid:b", "POST", "Appointment", badAppointment),
			"Bundle.entry[1].resource.Appointment.status"},
		{"dangling urn:uuid reference", entry("urn:uuid:b", "POST", "Appointment", appointment("urn:uuid:nowhere")),
			"Bundle.entry[1]"},
		{"unserved type", entry("urn:uuid:b", "POST", "Observation",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`), "Bundle.entry[1].resource"},
		{"url does not match", entry("urn:uuid:b", "POST", "Patient", appointment("urn:uuid:a")),
			"Bundle.entry[1].request.url"},
		{"patch not supported", entry("", "PATCH", "Patient/1", ""), "Bundle.entry[1].request.method"},
		{"delete with an unsupported condition", entry("", "DELETE", "Patient?family=x", ""), "Bundle.entry[1].request.url"},
		{"put id differs from url", entry("", "PUT", "Patient/p2", strings.Replace(patient, `{`, `{"id":"p1",`, 1)),
			"Bundle.entry[1].request.url"},
		{"put id dot-dot", entry("", "PUT", "Patient/..", strings.Replace(patient, `{`, `{"id":"..",`, 1)),
			"Bundle.entry[1].resource.Patient.id"},
		{"post id dot", entry("urn:uuid:b", "POST", "Patient", strings.Replace(patient, `{`, `{"id":".",`, 1)),
			"Bundle.entry[1].resource.Patient.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			body := bundle("transaction", "", entry("urn:uuid:a", "POST", "Patient", patient), tt.bad)
			w := e.post("/fhir", body)
			if w.Code != http.StatusBadRequest && w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 400/422: %s", w.Code, w.Body)
			}
			oo := mustOutcome(t, w.Body.Bytes())
			found := false
			for _, is := range oo.Issue {
				for _, x := range is.Expression {
					found = found || strings.HasPrefix(x, tt.wantExpr)
				}
			}
			if !found {
				t.Errorf("no issue at %s: %s", tt.wantExpr, w.Body)
			}
			if n := e.fb.commitCount(); n != 0 {
				t.Errorf("backend saw %d commits, want 0", n)
			}
		})
	}
}

func TestTransactionCommitsAllAtOnce(t *testing.T) {
	e := newEnv(t, Options{})
	w := e.post("/fhir", transactionN(4))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var rb responseBundle
	if err := json.Unmarshal(w.Body.Bytes(), &rb); err != nil {
		t.Fatal(err)
	}
	if rb.Type != "transaction-response" || len(rb.Entry) != 4 {
		t.Fatalf("got %s", w.Body)
	}
	for i, en := range rb.Entry {
		if en.Response.Status != "201 Created" || en.Response.Etag != `W/"1"` ||
			!strings.Contains(en.Response.Location, "/_history/1") {
			t.Errorf("entry %d: %+v", i, en.Response)
		}
	}
	if e.fb.commitCount() != 1 || len(e.fb.committed) != 4 {
		t.Errorf("commits %d, entries %d; want 1, 4", e.fb.commitCount(), len(e.fb.committed))
	}
}

func TestBatchMixed(t *testing.T) {
	e := newEnv(t, Options{})
	body := bundle("batch", "",
		entry("", "POST", "Patient", patient),
		entry("", "POST", "Appointment", badAppointment),
		entry("", "PUT", "Patient/p1", strings.Replace(patient, `{`, `{"id":"p1",`, 1)),
		entry("", "DELETE", "Patient?family=x", ""),
	)
	w := e.post("/fhir", body)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var rb responseBundle
	if err := json.Unmarshal(w.Body.Bytes(), &rb); err != nil {
		t.Fatal(err)
	}
	want := []string{"201 Created", "400 Bad Request", "201 Created", "400 Bad Request"}
	if rb.Type != "batch-response" || len(rb.Entry) != len(want) {
		t.Fatalf("got %s", w.Body)
	}
	for i, en := range rb.Entry {
		if en.Response.Status != want[i] {
			t.Errorf("entry %d status %q, want %q", i, en.Response.Status, want[i])
		}
		hasOutcome := len(en.Response.Outcome) > 0
		if failed := want[i][0] == '4'; failed != hasOutcome {
			t.Errorf("entry %d: outcome present %v, want %v", i, hasOutcome, failed)
		}
		if hasOutcome {
			mustOutcome(t, en.Response.Outcome)
		}
	}
	if len(e.fb.committed) != 2 {
		t.Errorf("committed %d entries, want 2", len(e.fb.committed))
	}
	// A retry replays the committed entries and commits nothing new.
	w2 := e.post("/fhir", body)
	if w2.Body.String() != w.Body.String() || len(e.fb.committed) != 2 {
		t.Errorf("retry differs or committed again (%d):\n%s\n%s", len(e.fb.committed), w.Body, w2.Body)
	}
}

func TestBatchRefusedEntry(t *testing.T) {
	e := newEnv(t, Options{})
	e.fb.commitErr, e.fb.failEntry = ErrRefused, 1
	w := e.post("/fhir", bundle("batch", "", entry("", "POST", "Patient", patient),
		entry("", "POST", "Patient", patient)))
	var rb responseBundle
	if err := json.Unmarshal(w.Body.Bytes(), &rb); err != nil || w.Code != 200 {
		t.Fatalf("status %d %v: %s", w.Code, err, w.Body)
	}
	if rb.Entry[0].Response.Status != "201 Created" || rb.Entry[1].Response.Status != "422 Unprocessable Entity" {
		t.Errorf("statuses %q %q", rb.Entry[0].Response.Status, rb.Entry[1].Response.Status)
	}
}

func TestIdempotentRepeat(t *testing.T) {
	tests := []struct {
		name   string
		first  string
		second string
	}{
		{"same bytes", transactionN(2), transactionN(2)},
		{"same identifier, same content in other bytes",
			bundle("transaction", "msg-1", entry("urn:uuid:a", "POST", "Patient", patient)),
			" " + strings.Replace(bundle("transaction", "msg-1", entry("urn:uuid:a", "POST", "Patient", patient)),
				`"resourceType":"Bundle","type":"transaction",`, `"type":"transaction", "resourceType":"Bundle",`, 1) + "\n"},
		{"same identifier, resent with a new timestamp",
			strings.Replace(bundle("transaction", "msg-1", entry("urn:uuid:a", "POST", "Patient", patient)),
				`"type":"transaction",`, `"type":"transaction","timestamp":"2026-01-02T03:04:05Z",`, 1),
			strings.Replace(bundle("transaction", "msg-1", entry("urn:uuid:a", "POST", "Patient", patient)),
				`"type":"transaction",`, `"type":"transaction","timestamp":"2026-01-02T03:09:05Z",`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			w1 := e.post("/fhir", tt.first)
			w2 := e.post("/fhir", tt.second)
			if w1.Code != 200 || w2.Code != w1.Code || w2.Body.String() != w1.Body.String() {
				t.Fatalf("responses differ: %d %s\n%d %s", w1.Code, w1.Body, w2.Code, w2.Body)
			}
			if n := e.fb.commitCount(); n != 1 {
				t.Errorf("%d commits, want 1", n)
			}
		})
	}
}

func TestBackendErrors(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
	}{
		{ErrUnavailable, 503},
		{ErrRefused, 422},
		{ErrConflict, 409},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			e := newEnv(t, Options{})
			e.fb.commitErr = tt.err
			for _, path := range []string{"/fhir", "/fhir/Patient"} {
				body := transactionN(2)
				if path != "/fhir" {
					body = patient
				}
				w := e.post(path, body)
				if w.Code != tt.wantStatus {
					t.Fatalf("%s: status %d, want %d: %s", path, w.Code, tt.wantStatus, w.Body)
				}
				mustOutcome(t, w.Body.Bytes())
				if tt.wantStatus == 503 && w.Header().Get("Retry-After") != "5" {
					t.Errorf("%s: Retry-After %q", path, w.Header().Get("Retry-After"))
				}
			}
		})
	}
}

func TestBatchUnavailableIs503(t *testing.T) {
	e := newEnv(t, Options{})
	e.fb.commitErr = ErrUnavailable
	w := e.post("/fhir", bundle("batch", "", entry("", "POST", "Patient", patient)))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}
