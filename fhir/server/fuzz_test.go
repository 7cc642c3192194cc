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
