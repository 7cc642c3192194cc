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

func TestVisitNotes(t *testing.T) {
	now := time.Date(2026, 3, 1, 15, 0, 0, 0, time.UTC)
	sim := New(Options{Now: func() time.Time { return now }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	const k = DefaultAPIKey
	room := `"waitingRoom":"Default Waiting Room Name 1"`
	for _, r := range []struct{ path, body string }{
		{"/qapi/v1/patients", `{"id":"p1"}`},
		{"/qapi/v1/patients/p1/appointments", `{` + room + `}`},
		{"/qapi/v1/patients/p1/appointments", `{` + room + `}`},
	} {
		if resp := do(t, srv, "POST", r.path, k, r.body); resp.StatusCode != 200 {
			t.Fatalf("setup %s: %d", r.path, resp.StatusCode)
		}
	}
	sim.SeedVisitNote(5001, VisitNote{TemplateID: "tpl-1", Name: "Neuro",
		Questions: []VisitNoteQuestion{{ID: "q1", Section: "Exam", Name: "Sex"}, {ID: "q2", Section: "Exam", Name: "NIHSS"}},
		Answers:   map[string][]string{"q1": {"Male"}},
		Comments:  []VisitNoteComment{{ID: "c1", Message: "ok", Username: "dr@x", AuthorID: 7, PostedAt: 1508584382}}})
	const path = "/qapi/v1/appointments/5001/visit-note"
	cases := []struct {
		name, method, path, body string
		status                   int
		reason                   string
	}{
		{"get seeded", "GET", path, "", 200, ""},
		{"unknown appointment", "GET", "/qapi/v1/appointments/9999/visit-note", "", 404, "Appointment not found"},
		{"no note", "GET", "/qapi/v1/appointments/5002/visit-note", "", 404, "Visit note not found"},
		{"put without note", "PUT", "/qapi/v1/appointments/5002/visit-note", `{"name":"Neuro","questions":[{"id":"q1","value":["x"]}]}`, 404, "Visit note not found"},
		{"not json", "PUT", path, `[`, 400, "body"},
		{"name blank", "PUT", path, `{"questions":[{"id":"q1","value":["x"]}]}`, 400, "[name:"},
		{"unknown template", "PUT", path, `{"name":"Other","questions":[{"id":"q1","value":["x"]}]}`, 400, "[name:"},
		{"no questions", "PUT", path, `{"name":"Neuro","questions":[]}`, 400, "[questions:"},
		{"question without id", "PUT", path, `{"name":"Neuro","questions":[{"value":["x"]}]}`, 400, "[questions[0].id:"},
		{"unknown question", "PUT", path, `{"name":"Neuro","questions":[{"id":"q9","value":["x"]}]}`, 400, "[questions[0].id:"},
		{"value not array", "PUT", path, `{"name":"Neuro","questions":[{"id":"q1","value":"x"}]}`, 400, "[questions[0].value:"},
		{"value not strings", "PUT", path, `{"name":"Neuro","questions":[{"id":"q1","value":[1]}]}`, 400, "[questions[0].value:"},
		{"put ok", "PUT", path, `{"name":"Neuro","questions":[{"id":"q2","value":["4"]}]}`, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Api-Key", k)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.reason) {
				t.Fatalf("%s %s: %d %s, want %d with %q", c.method, c.path, resp.StatusCode, body, c.status, c.reason)
			}
		})
	}
	if u := sim.VisitNoteUpdates(); len(u) != 1 || u[0].SAID != 5001 || u[0].Questions["q2"][0] != "4" {
		t.Fatalf("updates = %+v", u)
	}
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Api-Key", k)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []struct {
		ID       string `json:"id"`
		Template struct {
			Name string `json:"name"`
			Flow struct {
				Sections []struct {
					Name      string `json:"name"`
					Questions []struct{ ID, Name string }
				} `json:"sections"`
			} `json:"flow"`
		} `json:"template"`
		Comments  []map[string]any `json:"comments"`
		Responses []struct {
			DateTime struct {
				Date     string `json:"date"`
				Type     int    `json:"timezone_type"`
				Timezone string `json:"timezone"`
			} `json:"dateTime"`
			Question []string `json:"question"`
			Response []string `json:"response"`
		} `json:"responses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "tpl-1" || got[0].Template.Name != "Neuro" || len(got[0].Template.Flow.Sections) != 1 ||
		len(got[0].Template.Flow.Sections[0].Questions) != 2 || len(got[0].Comments) != 1 || len(got[0].Responses) != 2 {
		t.Fatalf("note = %+v", got)
	}
	r := got[0].Responses[1]
	if r.DateTime.Date != "2026-03-01 10:00:00.000000" || r.DateTime.Timezone != VisitNoteZone || r.DateTime.Type != 3 ||
		strings.Join(r.Question, "/") != "Exam/NIHSS" || r.Response[0] != "4" {
		t.Fatalf("response = %+v", r)
	}
}

// TestDefaultVisitNote: the sandbox's default note is every unseeded
// appointment's, and answering one leaves the others' alone.
func TestDefaultVisitNote(t *testing.T) {
	sim := New(Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.SetDefaultVisitNote(SampleVisitNote())
	room := `"waitingRoom":"Default Waiting Room Name 1"`
	for _, r := range []struct{ path, body string }{
		{"/qapi/v1/patients", `{"id":"p1"}`},
		{"/qapi/v1/patients/p1/appointments", `{` + room + `}`},
		{"/qapi/v1/patients/p1/appointments", `{` + room + `}`},
	} {
		if resp := do(t, srv, "POST", r.path, DefaultAPIKey, r.body); resp.StatusCode != 200 {
			t.Fatalf("setup %s: %d", r.path, resp.StatusCode)
		}
	}
	if resp := do(t, srv, "PUT", "/qapi/v1/appointments/5001/visit-note", DefaultAPIKey,
		`{"name":"Acute Neurology - Physician Services","questions":[{"id":"923c5621-66a1-49a3-aa7b-a7753cbfd139","value":["Male"]}]}`); resp.StatusCode != 200 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	if resp := do(t, srv, "GET", "/qapi/v1/appointments/5002/visit-note", DefaultAPIKey, ""); resp.StatusCode != 200 {
		t.Fatalf("GET the default note: %d", resp.StatusCode)
	}
	if a, b := sim.VisitNotes(5001), sim.VisitNotes(5002); len(a) != 1 || a[0].Answers["923c5621-66a1-49a3-aa7b-a7753cbfd139"][0] != "Male" || len(b) != 1 || len(b[0].Answers) != 0 {
		t.Fatalf("notes %+v / %+v", a, b)
	}
}
