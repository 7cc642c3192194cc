package solosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const paLoc = "3f1c2a9e-8d4b-4c1e-9a7f-0b5e6d7c8a91"

func paBody(change map[string]any) string {
	doc := map[string]any{"firstName": "John", "lastName": "Doe", "dob": "2001-01-20", "locationId": paLoc,
		"mrn": "AA-00000001", "requestingProvider": "Bob Dylan", "consultType": "new", "reason": "EEG Stat",
		"callCenterNotified": "2019-12-03T14:32:12Z", "caller": "Caller name"}
	for k, v := range change {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

func paPost(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/qapi/v1/perfect-answer", strings.NewReader(body))
	req.Header.Set("Api-Key", DefaultAPIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPerfectAnswerValidation: every documented body rule answers the
// spec's "Bad parameters [field: …]" naming the field.
func TestPerfectAnswerValidation(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	cases := []struct {
		name   string
		change map[string]any
		field  string // "" = accepted
	}{
		{"complete body", nil, ""},
		{"no first name", map[string]any{"firstName": nil}, "firstName"},
		{"blank last name", map[string]any{"lastName": " "}, "lastName"},
		{"bad dob", map[string]any{"dob": "20/01/2001"}, "dob"},
		{"location not a UUID", map[string]any{"locationId": "123"}, "locationId: This is not a valid UUID."},
		{"no mrn", map[string]any{"mrn": nil}, "mrn"},
		{"no requesting provider", map[string]any{"requestingProvider": nil}, "requestingProvider"},
		{"consult type", map[string]any{"consultType": "follow-up"}, "consultType"},
		{"reason", map[string]any{"reason": "Migraine"}, "reason"},
		{"notified not ISO", map[string]any{"physicianNotified": "yesterday"}, "physicianNotified"},
		{"a number", map[string]any{"caller": 12}, "caller"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			change := map[string]any{"mrn": "M-" + string(rune('a'+i))}
			for k, v := range c.change {
				change[k] = v
			}
			status, body := paPost(t, srv, paBody(change))
			if c.field == "" {
				if status != 200 || !strings.Contains(body, `"encounterId"`) || !strings.Contains(body, `"patientId"`) {
					t.Fatalf("got %d %s", status, body)
				}
				return
			}
			if status != 400 || !strings.Contains(body, "Bad parameters ["+c.field) {
				t.Fatalf("got %d %s, want 400 naming %s", status, body, c.field)
			}
		})
	}
	if status, _ := paPost(t, srv, `[1]`); status != 400 {
		t.Errorf("not an object: %d", status)
	}
}

// TestPerfectAnswer24Hours: a second visit for the patient (same MRN)
// within 24 hours is rejected with the spec's message; after 24 hours, or
// for another patient, it is created.
func TestPerfectAnswer24Hours(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	sim := New(Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	status, first := paPost(t, srv, paBody(nil))
	if status != 200 {
		t.Fatalf("first: %d %s", status, first)
	}
	now = now.Add(23 * time.Hour)
	status, body := paPost(t, srv, paBody(map[string]any{"reason": "Stroke"}))
	if status != 422 || !strings.Contains(body, "A visit has already been created for the patient within 24 hours") {
		t.Fatalf("within 24h: %d %s", status, body)
	}
	if status, body := paPost(t, srv, paBody(map[string]any{"mrn": "OTHER"})); status != 200 {
		t.Fatalf("another patient: %d %s", status, body)
	}
	now = now.Add(time.Hour)
	status, third := paPost(t, srv, paBody(map[string]any{"consultType": "update"}))
	if status != 200 {
		t.Fatalf("after 24h: %d %s", status, third)
	}
	v := sim.PerfectAnswers()
	if len(v) != 3 || v[0].PatientID != v[2].PatientID || v[0].PatientID == v[1].PatientID || v[0].EncounterID == v[2].EncounterID {
		t.Fatalf("visits %+v", v)
	}
	if v[2].Body["consultType"] != "update" || v[0].Body["locationId"] != paLoc {
		t.Errorf("bodies %+v", v)
	}
}
