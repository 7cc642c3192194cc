package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/vsee"
	"github.com/fhirbridge/fhirbridge/connectors/vsee/vseesim"
)

const vseePeople = `
 {"resource":{"resourceType":"Patient","id":"pat-v1","name":[{"family":"Bianchi","given":["Giulia"]}],"birthDate":"1975-03-04","telecom":[{"system":"email","value":"giulia@example.org"}]},"request":{"method":"PUT","url":"Patient/pat-v1"}},
 {"resource":{"resourceType":"Practitioner","id":"dr-v1","identifier":[{"system":"urn:vsee:provider","value":"prov-1"}],"name":[{"family":"Verdi"}]},"request":{"method":"PUT","url":"Practitioner/dr-v1"}},`

func vseeBundle(entries ...string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` + vseePeople + strings.Join(entries, ",") + `]}`
}

func vseeAppointment(id, walkin string) string {
	typ := ""
	if walkin != "" {
		typ = `"appointmentType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0276","code":"WALKIN"}]},`
	}
	start := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339)
	return `{"resource":{"resourceType":"Appointment","id":"` + id + `","status":"booked",` + typ + `"start":"` + start + `","end":"` + start[:11] + `23:59:00Z",
  "participant":[{"actor":{"reference":"Patient/pat-v1"},"status":"accepted"},{"actor":{"reference":"Practitioner/dr-v1"},"status":"accepted"}]},
 "request":{"method":"PUT","url":"Appointment/` + id + `"}}`
}

// TestServeVSee: a Patient and a virtual Appointment posted to serve make
// one SSO user, one intake and one scheduled visit, whose id and join
// link come back onto the stored Appointment; a walk-in and an e-consult
// reach their endpoints; the link endpoint answers an
// auth?sso_token=…&next=/visits/start/{id} URL that the portal accepts
// once; re-posting creates nothing new; no SSO token in the log or the
// store; a link for another patient's visit is refused.
func TestServeVSee(t *testing.T) {
	sim := vseesim.New(vseesim.Options{})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	t.Setenv("VSEE_TEST_KEY", vseesim.DefaultAPIKey)
	t.Setenv("VSEE_TEST_SECRET", vseesim.DefaultSecret)
	t.Setenv("VSEE_TEST_PORTAL_TOKEN", "portal-token-0123456789")
	portal := sim.PortalURL()
	b := startBridge(t, `connectors:
  vsee:
    base_url: "`+simURL+`"
    portal_base_url: "`+portal+`"
    api_key: {env: VSEE_TEST_KEY}
    api_secret: {env: VSEE_TEST_SECRET}
    links: {tokens: [{env: VSEE_TEST_PORTAL_TOKEN}]}
routes:
  - {name: vsee-users, resource: Patient, mapping: vsee/user, connector: vsee}
  - {name: vsee-walkins, resource: Appointment, mapping: vsee/walkin, connector: vsee, when: "`+vsee.WalkinWhen+`"}
  - {name: vsee-visits, resource: Appointment, mapping: vsee/visit, connector: vsee, when: "(`+vsee.WalkinWhen+`).not()"}
  - {name: vsee-econsults, resource: ServiceRequest, mapping: vsee/econsult, connector: vsee}
`)
	bundle := vseeBundle(vseeAppointment("appt-v1", ""))
	post(t, b.Base+"/fhir", bundle, http.StatusOK)
	var visitID, invite string
	b.Wait("the visit id and join link on the Appointment", func() bool {
		var res struct {
			Identifier []struct{ System, Value string }
			Extension  []struct{ URL, ValueString string }
		}
		_ = json.Unmarshal([]byte(send(t, "GET", b.Base+"/fhir/Appointment/appt-v1", "", 200)), &res)
		for _, i := range res.Identifier {
			if i.System == vsee.VisitSystem {
				visitID = i.Value
			}
		}
		for _, e := range res.Extension {
			if strings.HasSuffix(e.URL, ":"+vsee.AttrInviteLink) {
				invite = e.ValueString
			}
		}
		return visitID != "" && invite != ""
	})
	visits := sim.Visits()
	if len(sim.Users()) != 1 || len(sim.Intakes()) != 1 || len(visits) != 1 || visits[0].Kind != vseesim.KindScheduled || visits[0].ID != visitID {
		t.Fatalf("at VSee: %d users, %d intakes, visits %+v (want 1, 1, one scheduled %s)", len(sim.Users()), len(sim.Intakes()), visits, visitID)
	}
	if !strings.Contains(invite, "visits/join/"+visits[0].Code) {
		t.Errorf("invite link %q does not carry the join code", invite)
	}

	// re-posting creates nothing new
	post(t, b.Base+"/fhir", bundle, http.StatusOK)
	time.Sleep(500 * time.Millisecond)
	if len(sim.Visits()) != 1 || len(sim.Intakes()) != 1 {
		t.Errorf("the re-post made %d visits, %d intakes", len(sim.Visits()), len(sim.Intakes()))
	}

	// a walk-in and an e-consult reach their endpoints
	post(t, b.Base+"/fhir", vseeBundle(vseeAppointment("appt-v2", "walkin"),
		`{"resource":{"resourceType":"ServiceRequest","id":"sr-v1","status":"active","intent":"order","subject":{"reference":"Patient/pat-v1"},"code":{"text":"Dermatology e-consult"}},"request":{"method":"PUT","url":"ServiceRequest/sr-v1"}}`), http.StatusOK)
	b.Wait("the walk-in and the e-consult", func() bool {
		kinds := map[string]int{}
		for _, v := range sim.Visits() {
			kinds[v.Kind]++
		}
		return kinds[vseesim.KindWalkin] == 1 && kinds[vseesim.KindEconsult] == 1
	})

	// the link endpoint: a fresh SSO link the portal accepts once
	link := func(patient, visit string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, b.Base+strings.TrimPrefix(vsee.LinkPath, "POST "), strings.NewReader(`{"patient":"Patient/`+patient+`","purpose":"start","visit":"`+visit+`"}`))
		req.Header.Set("Authorization", "Bearer portal-token-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var a struct{ URL string }
		_ = json.Unmarshal(body, &a)
		return resp.StatusCode, a.URL
	}
	code, u := link("pat-v1", visitID)
	if q, err := url.Parse(u); code != http.StatusOK || err != nil || !strings.HasPrefix(u, portal+"auth?") ||
		q.Query().Get("sso_token") == "" || q.Query().Get("next") != "/visits/start/"+visitID {
		t.Fatalf("link: %d %q", code, u)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/visits/start/"+visitID) {
		t.Errorf("the portal answered the link %d (Location %q), want a redirect to the visit", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, err = noRedirect.Get(u); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound {
			t.Error("the portal accepted the same SSO link twice")
		}
	}
	// another patient's visit: refused
	put(t, b.Base+"/fhir/Patient/pat-v2", `{"resourceType":"Patient","id":"pat-v2","name":[{"family":"Other"}]}`, http.StatusCreated)
	if code, _ := link("pat-v2", visitID); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Errorf("a link for another patient's visit answered %d, want 403", code)
	}

	// no SSO token in the log or the store
	tok, _ := url.ParseQuery(u[strings.Index(u, "?")+1:])
	sso := tok.Get("sso_token")
	b.Stop()
	b.NoCanary(sso, "Bianchi", "giulia@example.org", vseesim.DefaultSecret)
	raw, err := os.ReadFile(filepath.Join(b.Dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	if sso == "" || strings.Contains(string(raw), sso) {
		t.Errorf("an SSO token is in the store (or none was read from the link)")
	}
}
