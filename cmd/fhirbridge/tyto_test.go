package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tyto/tytosim"
)

// tytoRoutes feed Practitioners, Locations, Devices and virtual
// Encounters to the Tyto tenant "main"; $VISIT_PARAMS are the visit
// route's params. The visit route awaits its clinician and station (up to
// an hour) rather than refusing a visit sent before them.
const tytoRoutes = `
connectors:
  tyto:
    tenants:
      main: {portal_url: "$PORTAL", username: tyto-user, password: {env: BRIDGE_TYTO_PASS}}
routes:
  - {name: tyto-clinicians, resource: Practitioner, mapping: tyto/clinician, connector: tyto}
  - {name: tyto-stations, resource: Location, mapping: tyto/station, connector: tyto}
  - {name: tyto-devices, resource: Device, mapping: tyto/device, connector: tyto}
  - {name: tyto-visits, resource: Encounter, mapping: tyto/visit, connector: tyto, when: "class.code = 'VR'", reference_wait: 1h, params: {$VISIT_PARAMS}}
`

// startTyto starts a Tyto simulator and serve routed to it.
func startTyto(t *testing.T, password, visitParams string) (*testBridge, *tytosim.Sim) {
	t.Helper()
	sim := tytosim.New(tytosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Setenv("BRIDGE_TYTO_PASS", password)
	y := strings.NewReplacer("$PORTAL", srv.URL, "$VISIT_PARAMS", visitParams).Replace(tytoRoutes)
	return startBridge(t, y), sim
}

func entry(typ, id, body string) string {
	return `{"resource":` + body + `,"request":{"method":"PUT","url":"` + typ + `/` + id + `"}}`
}

func transaction(entries ...string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
}

const (
	tytoPractitioner = `{"resourceType":"Practitioner","id":"dr-1","name":[{"family":"Lovelace","given":["Ada"]}]}`
	tytoLocation     = `{"resourceType":"Location","id":"st-1","name":"Exam room 1"}`
)

func tytoEncounter(id string) string {
	return `{"resourceType":"Encounter","id":"` + id + `","status":"planned",
	  "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"VR"},
	  "subject":{"reference":"Patient/p-canary"},
	  "participant":[{"individual":{"reference":"Practitioner/dr-1"}}],
	  "location":[{"location":{"reference":"Location/st-1"}}],
	  "period":{"start":"2026-12-01T09:00:00Z"}}`
}

// TestTytoOrderSameBundle: an Encounter posted before its Practitioner and
// Location in one Bundle is delivered after both, and the visit id and
// state come back onto it.
func TestTytoOrderSameBundle(t *testing.T) {
	b, sim := startTyto(t, tytosim.DefaultPassword, "")
	post(t, b.Base+"/fhir", transaction(
		entry("Encounter", "enc-1", tytoEncounter("enc-1")),
		entry("Practitioner", "dr-1", tytoPractitioner),
		entry("Location", "st-1", tytoLocation),
	), 200)
	b.Wait("the visit at Tyto", func() bool { return len(sim.Visits()) == 1 })
	order := sim.Order()
	if len(order) != 3 || order[2] != "visit:enc-1" || !containsAll(order[:2], "clinician:dr-1", "station:st-1") {
		t.Fatalf("order at the portal = %v, want the clinician and the station, then the visit", order)
	}
	if v := sim.Visits()[0]; v.Clinician != "dr-1" || v.Station != "st-1" {
		t.Fatalf("visit %+v", v)
	}
	var enc struct {
		Identifier []struct{ System, Value string }
		Extension  []struct {
			URL         string
			ValueString string
		}
	}
	b.Wait("the visit id on the Encounter", func() bool {
		_ = json.Unmarshal([]byte(send(t, "GET", b.Base+"/fhir/Encounter/enc-1", "", 200)), &enc)
		return len(enc.Identifier) > 0
	})
	if enc.Identifier[0].System != "urn:fhirbridge:tyto:id" || enc.Identifier[0].Value != "V-000001" {
		t.Errorf("identifier %+v", enc.Identifier)
	}
	if len(enc.Extension) != 2 || enc.Extension[0].URL != "urn:fhirbridge:tyto:identifier" || enc.Extension[0].ValueString != "enc-1" ||
		enc.Extension[1].URL != "urn:fhirbridge:tyto:status" || enc.Extension[1].ValueString != "scheduled" {
		t.Errorf("extensions %+v", enc.Extension)
	}
	// every call in the log with its status and path template, no value
	for _, want := range []string{
		`method=PUT path=/api/extintegration/tyto/v1/clinicians/{identifier} status=201`,
		`method=POST path=/api/extintegration/tyto/v1/stations status=201`,
		`flow=tyto/visit resource=Encounter/enc-1 tenant=main method=POST path=/api/extintegration/tyto/v1/visits status=201`,
	} {
		if !strings.Contains(b.Log(), want) {
			t.Errorf("the log lacks %q:\n%s", want, b.Log())
		}
	}
	b.Stop()
	b.NoCanary("Lovelace", "Exam room 1", tytosim.DefaultPassword)
}

// TestTytoOrderSeparateBundles: the visit waits for its clinician, then
// for its station, and is delivered once both are.
func TestTytoOrderSeparateBundles(t *testing.T) {
	b, sim := startTyto(t, tytosim.DefaultPassword, "")
	post(t, b.Base+"/fhir", transaction(entry("Encounter", "enc-1", tytoEncounter("enc-1"))), 200)
	waitJob(t, b, "tyto-visits", "waiting for Practitioner/dr-1")
	post(t, b.Base+"/fhir", transaction(entry("Practitioner", "dr-1", tytoPractitioner)), 200)
	waitJob(t, b, "tyto-visits", "waiting for Location/st-1")
	if n := len(sim.Visits()); n != 0 {
		t.Fatalf("%d visits before the station", n)
	}
	post(t, b.Base+"/fhir", transaction(entry("Location", "st-1", tytoLocation)), 200)
	b.Wait("the visit at Tyto", func() bool { return len(sim.Visits()) == 1 })
	if got := strings.Join(sim.Order(), ","); got != "clinician:dr-1,station:st-1,visit:enc-1" {
		t.Fatalf("order = %s", got)
	}
	// the portal answers before the bridge records the outcome
	b.Wait("every job settled", func() bool {
		for _, j := range jobs(t, b) {
			if j.State == delivery.StateInFlight || j.State == delivery.StatePending {
				return false
			}
		}
		return true
	})
	for _, j := range jobs(t, b) {
		if j.State != delivery.StateDelivered || j.Attempts != 1 {
			t.Errorf("job %s %s/%s: %s after %d attempts", j.Flow, j.ResourceType, j.ResourceID, j.State, j.Attempts)
		}
	}
}

// TestTytoDevice: a Device waits for its station and is paired with it.
func TestTytoDevice(t *testing.T) {
	b, sim := startTyto(t, tytosim.DefaultPassword, "")
	post(t, b.Base+"/fhir", transaction(
		entry("Device", "tyto-1", `{"resourceType":"Device","id":"tyto-1","serialNumber":"TC-1","location":{"reference":"Location/st-1"}}`),
		entry("Location", "st-1", tytoLocation)), 200)
	b.Wait("the pairing", func() bool { return len(sim.Stations()["st-1"].Devices) == 1 })
	post(t, b.Base+"/fhir", transaction(entry("Device", "tyto-2", `{"resourceType":"Device","id":"tyto-2"}`)), 422)
}

// TestTytoIntake: identifiers the portal would refuse get a 422 naming the
// element when posted; nothing is stored or sent.
func TestTytoIntake(t *testing.T) {
	b, sim := startTyto(t, tytosim.DefaultPassword, "identifier_system: 'urn:visits'")
	enc := func(id, value string) string {
		e := strings.Replace(tytoEncounter(id), `"status"`, `"identifier":[{"system":"urn:visits","value":`+value+`}],"status"`, 1)
		return transaction(entry("Encounter", id, e))
	}
	for _, tc := range []struct {
		name, value string
		want        int
	}{
		{"140 characters", `"` + strings.Repeat("v", 140) + `"`, 200},
		{"141 characters", `"` + strings.Repeat("v", 141) + `"`, 422},
		{"non-ASCII", `"visité-1"`, 422},
		{"space", `"visit 1"`, 422},
		{"slash", `"visit/1"`, 422},
		{"URL reserved", `"visit?1"`, 422},
		{"quote", `"visit'1"`, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := post(t, b.Base+"/fhir", enc("e-"+strings.ReplaceAll(tc.name, " ", "-"), tc.value), tc.want)
			if tc.want == 422 && !strings.Contains(out, "Encounter.identifier[0].value") {
				t.Errorf("the outcome does not name the element:\n%s", out)
			}
			if strings.Contains(out, strings.Trim(tc.value, `"`)) {
				t.Errorf("the outcome quotes the value:\n%s", out)
			}
		})
	}
	out := post(t, b.Base+"/fhir", transaction(entry("Encounter", "e-none", tytoEncounter("e-none"))), 422)
	if !strings.Contains(out, "Encounter.identifier") {
		t.Errorf("no identifier in the system:\n%s", out)
	}
	out = post(t, b.Base+"/fhir", transaction(entry("Encounter", "e-alone",
		`{"resourceType":"Encounter","id":"e-alone","status":"planned","class":{"code":"VR"},"identifier":[{"system":"urn:visits","value":"v-alone"}]}`)), 422)
	if !strings.Contains(out, "Encounter.participant") || !strings.Contains(out, "Encounter.location") {
		t.Errorf("no clinician or station:\n%s", out)
	}
	time.Sleep(100 * time.Millisecond)
	for _, r := range sim.Requests() {
		if strings.Contains(r.Path, "visits") && r.Status != 0 {
			t.Errorf("a refused visit reached the portal: %+v", r)
		}
	}
}

// TestTytoErrorsEndToEnd: through serve, 401 leaves the job pending with
// the spec's words, 408 retries it, and a station that already exists is
// linked.
func TestTytoErrorsEndToEnd(t *testing.T) {
	t.Run("401", func(t *testing.T) {
		b, _ := startTyto(t, "wrong-password", "")
		post(t, b.Base+"/fhir", transaction(entry("Location", "st-1", tytoLocation)), 200)
		waitJob(t, b, "tyto-stations", "HTTP 401: username/password incorrect or this host's IP is not whitelisted on the Tyto server")
		b.Stop()
		b.NoCanary("wrong-password")
	})
	t.Run("408", func(t *testing.T) {
		b, sim := startTyto(t, tytosim.DefaultPassword, "")
		sim.SetTytoReachable(false)
		post(t, b.Base+"/fhir", transaction(entry("Location", "st-1", tytoLocation)), 200)
		waitJob(t, b, "tyto-stations", "HTTP 408: the portal cannot reach the Tyto server")
		sim.SetTytoReachable(true)
		b.Wait("the station after the portal reached Tyto again", func() bool { _, ok := sim.Stations()["st-1"]; return ok })
	})
	t.Run("409 station exists", func(t *testing.T) {
		b, sim := startTyto(t, tytosim.DefaultPassword, "")
		sim.AddStation("st-1")
		post(t, b.Base+"/fhir", transaction(entry("Location", "st-1", tytoLocation)), 200)
		b.Wait("the station linked", func() bool {
			return strings.Contains(send(t, "GET", b.Base+"/fhir/Location/st-1", "", 200), `"urn:fhirbridge:tyto:id"`)
		})
		if !strings.Contains(b.Log(), "status=409") {
			t.Error("the 409 is not in the log")
		}
	})
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, l := range list {
			found = found || l == w
		}
		if !found {
			return false
		}
	}
	return true
}

// jobs lists the delivery jobs of b's store.
func jobs(t *testing.T, b *testBridge) []delivery.JobInfo {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(b.Dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	js, err := delivery.NewQueue(st).List(context.Background(), delivery.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// waitJob waits until a job of flow is pending with reason in its last error.
func waitJob(t *testing.T, b *testBridge, flow, reason string) {
	t.Helper()
	b.Wait(flow+" pending with "+reason, func() bool {
		for _, j := range jobs(t, b) {
			if j.Flow == flow && j.State == delivery.StatePending && strings.Contains(j.LastError, reason) {
				return true
			}
		}
		return false
	})
}
