package vsee

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

const linkToken = "portal-token-0123456789"

// fakeLookup knows pat-1 (visit 67003 is theirs) and pat-2 (no visits).
var fakeLookup = LinkLookup{
	User: func(_ context.Context, pid string) (User, error) {
		if pid != "pat-1" && pid != "pat-2" {
			return User{}, ErrNoPatient
		}
		return User{FirstName: "Mario", LastName: "Rossi", Code: pid}, nil
	},
	OwnsVisit: func(_ context.Context, pid, visit string) (bool, error) {
		return ownsVisit([]byte(`{"resourceType":"Appointment","identifier":[{"system":"`+VisitSystem+`","value":"67003"}],
			"participant":[{"actor":{"reference":"Patient/pat-1"}}]}`), pid, visit), nil
	},
}

func TestLinkHandler(t *testing.T) {
	tests := []struct {
		name, auth, body string
		failSSO          int
		wantStatus       int
		wantNext         string
		wantNoNav        bool
	}{
		{"dashboard", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"dashboard"}`, 0, 200, "/u/clinic", false},
		{"dashboard without navigation", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"dashboard","disable_navigation":true}`, 0, 200, "/u/clinic", true},
		{"start own visit", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"start","visit":"67003"}`, 0, 200, "/visits/start/67003", false},
		{"appointment own visit", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"appointment","visit":"67003"}`, 0, 200, "/members/appointment/67003", false},
		{"join own visit", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"join","visit":"67003"}`, 0, 200, "/visits/join/code67003", false},
		{"another patient's visit", "Bearer " + linkToken, `{"patient":"Patient/pat-2","purpose":"join","visit":"67003"}`, 0, 403, "", false},
		{"unknown visit", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"start","visit":"99"}`, 0, 403, "", false},
		{"no token", "", `{"patient":"Patient/pat-1","purpose":"dashboard"}`, 0, 401, "", false},
		{"wrong token", "Bearer portal-token-wrong-0000", `{"patient":"Patient/pat-1","purpose":"dashboard"}`, 0, 401, "", false},
		{"bad purpose", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"admin"}`, 0, 400, "", false},
		{"not a patient reference", "Bearer " + linkToken, `{"patient":"Practitioner/dr-1","purpose":"dashboard"}`, 0, 400, "", false},
		{"unknown field", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"dashboard","x":1}`, 0, 400, "", false},
		{"unknown patient", "Bearer " + linkToken, `{"patient":"Patient/nobody","purpose":"dashboard"}`, 0, 404, "", false},
		{"VSee refuses", "Bearer " + linkToken, `{"patient":"Patient/pat-1","purpose":"dashboard"}`, 503, 502, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.visits["67003"] = "code67003"
			if tc.failSSO != 0 {
				f.fail["POST /users/sso"] = tc.failSSO
			}
			c := newConn(t, srv.URL, func(cfg *Config) { cfg.Links.Tokens = []connectors.Secret{"other-portal-token-000", linkToken} })
			var logs bytes.Buffer
			h := c.LinkHandler(fakeLookup, slog.New(slog.NewTextHandler(&logs, nil)))
			req := httptest.NewRequest(http.MethodPost, "/vsee/links", strings.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("no Cache-Control: no-store")
			}
			if strings.Contains(logs.String(), "tokx") || strings.Contains(logs.String(), "Rossi") {
				t.Fatalf("log shows a token or patient data: %s", logs.String())
			}
			if tc.wantStatus != 200 {
				if strings.Contains(rec.Body.String(), "tokx") {
					t.Fatal("refusal shows a token")
				}
				return
			}
			var a struct{ URL string }
			if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(a.URL)
			if err != nil || !strings.HasPrefix(a.URL, "https://portal.example/vc/next/auth?") {
				t.Fatalf("url %q", a.URL)
			}
			q := u.Query()
			if !strings.HasPrefix(q.Get("sso_token"), "tokx") || q.Get("next") != tc.wantNext || (q.Get("disable_navigation") == "1") != tc.wantNoNav {
				t.Fatalf("query %v", q)
			}
		})
	}
}

func TestOwnsVisit(t *testing.T) {
	ap := `{"identifier":[{"system":"` + VisitSystem + `","value":"7"},{"system":"other","value":"8"}],
		"participant":[{"actor":{"reference":"https://ehr.example/fhir/Patient/p1"}}],"subject":{"reference":"Patient/p9"}}`
	tests := []struct {
		pid, visit string
		want       bool
	}{
		{"p1", "7", true}, {"p9", "7", true}, {"p2", "7", false}, {"p1", "8", false}, {"xp1", "7", false},
	}
	for _, tc := range tests {
		if got := ownsVisit([]byte(ap), tc.pid, tc.visit); got != tc.want {
			t.Errorf("ownsVisit(%s, %s) = %v", tc.pid, tc.visit, got)
		}
	}
}

func TestUserOf(t *testing.T) {
	u, err := UserOf([]byte(`{"id":"p1","name":[{"family":"Nick","given":["Old"]},{"use":"official","family":"Rossi","given":["Mario"]}],
		"telecom":[{"system":"phone","value":"1"},{"system":"email","value":"m@x"}],"birthDate":"1970-01-02","address":[{"city":"X"}]}`))
	if err != nil || u != (User{FirstName: "Mario", LastName: "Rossi", Email: "m@x", DOB: "1970-01-02", Code: "p1"}) {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := UserOf([]byte(`{}`)); err == nil {
		t.Fatal("accepted a Patient without id")
	}
}

func FuzzParseLinkRequest(f *testing.F) {
	f.Add([]byte(`{"patient":"Patient/p1","purpose":"join","visit":"1"}`))
	f.Add([]byte(`{"patient":"Patient/../x","purpose":"dashboard"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, id, err := parseLinkRequest(data)
		if err != nil {
			return
		}
		if !fhirID.MatchString(id) || (r.Purpose != "dashboard" && !fhirID.MatchString(r.Visit)) {
			t.Fatalf("accepted %q", data)
		}
	})
}
