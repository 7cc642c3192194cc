package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzServeBundle(f *testing.F) {
	f.Add([]byte(transactionN(2)))
	f.Add([]byte(bundle("batch", "x", entry("", "POST", "Patient", patient), entry("", "PUT", "Patient/1", badAppointment))))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"PUT","url":"Patient?x=1"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"batch","entry":[null,1,"x",{}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient?identifier=a|b,c|d"}},` +
		`{"request":{"method":"DELETE","url":"Patient/1"}},{"resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?_id=1"}}]}`))
	f.Add([]byte("{\"a\":\"\xff\"}"))
	f.Add([]byte(`[[[[[[[[[[`))
	e := newEnv(f, Options{MaxEntries: 50})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/fhir", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/fhir+json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code >= 400 {
			var oo struct {
				ResourceType string
				Issue        []json.RawMessage
			}
			if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
				t.Fatalf("status %d without an OperationOutcome: %q", w.Code, w.Body)
			}
		}
		if w.Code >= 500 {
			t.Fatalf("status %d for client input: %s", w.Code, w.Body)
		}
	})
}

// FuzzValidate posts any body and query to $validate, bare or in
// Parameters: the answer is always an OperationOutcome, never a server
// error, never a patient value, and nothing is ever committed.
func FuzzValidate(f *testing.F) {
	f.Add(uint8(2), "", []byte(patient))
	f.Add(uint8(3), "mode=update", []byte(badAppointment))
	f.Add(uint8(2), "", []byte(params(patient, `{"name":"mode","valueCode":"create"}`)))
	f.Add(uint8(0), "_format=json", []byte(params(transactionN(2))))
	f.Add(uint8(1), "", []byte(`{"resourceType":"Parameters","parameter":[{"name":"resource","resource":[]},1]}`))
	f.Add(uint8(2), "profile=x", []byte(`{"resourceType":"Parameters"}`))
	paths := []string{"/fhir/$validate", "/fhir/Bundle/$validate", "/fhir/Patient/$validate", "/fhir/Appointment/$validate"}
	e := newEnv(f, Options{MaxEntries: 50})
	f.Fuzz(func(t *testing.T, which uint8, query string, body []byte) {
		r := httptest.NewRequest("POST", paths[int(which)%len(paths)], strings.NewReader(string(body)))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", "application/fhir+json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		var oo struct {
			ResourceType string
			Issue        []json.RawMessage
		}
		if err := json.Unmarshal(w.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
			t.Fatalf("status %d without an OperationOutcome: %q", w.Code, w.Body)
		}
		if w.Code >= 500 {
			t.Fatalf("status %d for client input: %s", w.Code, w.Body)
		}
		if strings.Contains(w.Body.String(), canaryName) {
			t.Fatalf("a patient value in the answer: %s", w.Body)
		}
		if e.fb.commitCount() != 0 || len(e.fb.seen) != 0 {
			t.Fatalf("$validate committed or kept an idempotency record")
		}
	})
}
