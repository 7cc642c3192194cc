package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

const soloEpisodeBundle = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"pat-e1","identifier":[{"system":"urn:mrn","value":"MRN-E1"}],
   "name":[{"family":"Canaryson","given":["Tweety"]}],"gender":"female","birthDate":"1980-01-02"},
  "request":{"method":"PUT","url":"Patient/pat-e1"}},
 {"resource":{"resourceType":"Appointment","id":"appt-e1","status":"booked","start":"2026-12-01T08:30:00Z","end":"2026-12-01T08:45:00Z",
   "participant":[{"actor":{"reference":"Patient/pat-e1"},"status":"accepted"}]},
  "request":{"method":"PUT","url":"Appointment/appt-e1"}},
 {"resource":{"resourceType":"EpisodeOfCare","id":"eoc-e1","status":"active","patient":{"reference":"Patient/pat-e1"},
   "type":[{"text":"covid care","coding":[{"code":"covid"}]}],"period":{"start":"2026-11-30"}},
  "request":{"method":"PUT","url":"EpisodeOfCare/eoc-e1"}}]}`

// TestServeSoloEpisodesAndLinks runs serve with Patient, Appointment and
// EpisodeOfCare routes to the Solo simulator and links configured: the
// episode is created once under the patient and a changed EpisodeOfCare
// updates it by its Solo id; the stored Appointment carries the provider,
// patient and MS Teams links as extensions.
func TestServeSoloEpisodesAndLinks(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-ep", WaitingRooms: []string{"Telehealth"}})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()
	t.Setenv("E2E_EP_SOLO_KEY", "k-ep")
	t.Setenv("E2E_EP_TEAMS", "teams-token")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+dir+`
server: {listen: "127.0.0.1:0"}
connectors:
  solo:
    base_url: "`+simSrv.URL+`"
    api_key: {env: E2E_EP_SOLO_KEY}
    links: {ms_teams: true, teams_auth_token: {env: E2E_EP_TEAMS}}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
  - {name: solo-episodes, resource: EpisodeOfCare, mapping: solo/episode, connector: solo}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	resp, err := http.Post(base+"/fhir", "application/fhir+json", strings.NewReader(soloEpisodeBundle))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
	get := func(path string) string {
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return string(b)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; Solo requests: %+v", what, sim.Requests())
			}
		}
	}

	// links on the stored Appointment
	var appt string
	waitFor("the links on the Appointment", func() bool {
		appt = get("/fhir/Appointment/appt-e1")
		return strings.Contains(appt, "urn:fhirbridge:solo:msTeamsLink")
	})
	for _, want := range []string{
		`{"url":"urn:fhirbridge:solo:providerLink","valueString":"https://solo.sim/visit/5001/provider"}`,
		`{"url":"urn:fhirbridge:solo:patientLink","valueString":"https://solo.sim/visit/5001"}`,
		`{"url":"urn:fhirbridge:solo:msTeamsLink","valueString":"https://teams.microsoft.com/v2/?meetingjoin=true\u0026sim=5001"}`,
		`{"url":"urn:fhirbridge:solo:visitUrl","valueString":"https://solo.sim/visit/5001"}`,
	} {
		if !strings.Contains(appt, want) && !strings.Contains(appt, strings.ReplaceAll(want, `\u0026`, "&")) {
			t.Errorf("the stored Appointment lacks %s:\n%s", want, appt)
		}
	}
	if strings.Contains(appt, "linksError") {
		t.Errorf("links failed: %s", appt)
	}

	// the episode: created once, its Solo id on the stored EpisodeOfCare
	waitFor("the episode", func() bool { return len(sim.Episodes()) == 1 })
	epID := sim.Episodes()[0].ID
	waitFor("the episode id on the EpisodeOfCare", func() bool {
		return strings.Contains(get("/fhir/EpisodeOfCare/eoc-e1"), `"system":"urn:fhirbridge:solo:id","value":"`+epID+`"`)
	})
	if ep := sim.Episodes()[0]; ep.PatientID != "pat-e1" || ep.Status != "ACTIVE" || ep.Name != "covid care" || ep.From != "2026-11-30" {
		t.Fatalf("Solo episode %+v", ep)
	}

	// a changed EpisodeOfCare updates the episode by its id
	upd := `{"resourceType":"EpisodeOfCare","id":"eoc-e1","status":"finished","patient":{"reference":"Patient/pat-e1"},
	  "type":[{"text":"covid care","coding":[{"code":"covid"}]}],"period":{"start":"2026-11-30","end":"2026-12-15"}}`
	req, _ := http.NewRequest(http.MethodPut, base+"/fhir/EpisodeOfCare/eoc-e1", strings.NewReader(upd))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("PUT: %d %s", resp.StatusCode, b)
	}
	waitFor("the episode update", func() bool { eps := sim.Episodes(); return len(eps) == 1 && eps[0].Status == "FINISHED" })
	if ep := sim.Episodes()[0]; ep.ID != epID || ep.To != "2026-12-15" {
		t.Fatalf("Solo episode %+v", ep)
	}
	var posts, puts int
	for _, r := range sim.Requests() {
		switch {
		case r.Method == "POST" && r.Path == "/qapi/v1/patients/pat-e1/episodes":
			posts++
		case r.Method == "PUT" && r.Path == "/qapi/v1/episodes/"+epID:
			puts++
		}
	}
	if posts != 1 || puts != 1 {
		t.Errorf("Solo got %d episode creates and %d updates, want 1 and 1", posts, puts)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
	for _, canary := range []string{"Canaryson", "Tweety", "MRN-E1", "k-ep", "teams-token"} {
		if strings.Contains(logs.String(), canary) {
			t.Errorf("the log carries %q", canary)
		}
	}
}

// TestSoloLinksConfig: ms_teams needs teams_auth_token; an unknown key
// under links is an error.
func TestSoloLinksConfig(t *testing.T) {
	t.Setenv("E2E_LC_KEY", "k")
	for _, tc := range []struct{ links, want string }{
		{"{}", ""},
		{"{ms_teams: true}", "connectors.solo.links.teams_auth_token"},
		{"{ms_teams: true, teams_auth_token: {env: E2E_LC_KEY}}", ""},
		{"{msteams: true}", "msteams"},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "fhirbridge.yaml")
		if err := os.WriteFile(cfg, []byte(`data_dir: `+dir+`
connectors:
  solo: {base_url: "http://127.0.0.1:1", api_key: {env: E2E_LC_KEY}, links: `+tc.links+`}
`), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := config.Load(cfg, nil)
		if err == nil {
			err = c.Validate()
		}
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("links %s: %v, want %q", tc.links, err, tc.want)
		}
	}
}
