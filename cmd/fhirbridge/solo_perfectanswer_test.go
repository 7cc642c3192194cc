package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const paLocationID = "3f1c2a9e-8d4b-4c1e-9a7f-0b5e6d7c8a91"

// soloPerfectAnswerConfig routes ServiceRequests to Solo's perfect answer;
// ward-9's locationId is one Solo refuses (not a UUID).
const soloPerfectAnswerConfig = `connectors:
  solo:
    base_url: "$SIMURL"
    api_key: {env: BRIDGE_SOLO_KEY}
    perfect_answer:
      locations: {ed-main: ` + paLocationID + `, ward-9: "123"}
      reasons: {"http://snomed.info/sct|230690007": Stroke, eeg-stat: EEG Stat}
routes:
  - {name: solo-perfect-answer, resource: ServiceRequest, mapping: solo/perfect-answer, connector: solo}
`

// paBundle is a Patient with canary values and a ServiceRequest for it.
func paBundle(patient, mrn, sr, location, reason string) string {
	return `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"` + patient + `","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"value":"` + mrn + `"}],
   "name":[{"family":"Canaryson","given":["Tweety"]}],"gender":"female","birthDate":"1980-01-02"},
  "request":{"method":"PUT","url":"Patient/` + patient + `"}},
 {"resource":{"resourceType":"Practitioner","id":"dr-pa","name":[{"family":"Dylan","given":["Bob"]}],"telecom":[{"system":"phone","value":"+1-202-555-0150"}]},
  "request":{"method":"PUT","url":"Practitioner/dr-pa"}},
 {"resource":{"resourceType":"ServiceRequest","id":"` + sr + `","status":"active","intent":"order",
   "subject":{"reference":"Patient/` + patient + `"},"requester":{"reference":"Practitioner/dr-pa"},
   "authoredOn":"2026-12-01T08:00:00Z","reasonCode":[{"coding":[` + reason + `]}],
   "locationReference":[{"reference":"Location/` + location + `"}],"locationCode":[{"text":"ED bay 4"}],
   "extension":[{"url":"urn:fhirbridge:solo:caller","valueString":"Caller Canary"}]},
  "request":{"method":"PUT","url":"ServiceRequest/` + sr + `"}}]}`
}

// TestServeSoloPerfectAnswer: a ServiceRequest becomes a perfect-answer
// visit whose ids come back (the Patient's Solo id, an Encounter basedOn
// the ServiceRequest); a second one for the patient within 24 hours and
// one at a location Solo refuses are dead-lettered with Solo's reason, the
// ServiceRequests left as the EHR sent them; no patient value is logged.
func TestServeSoloPerfectAnswer(t *testing.T) {
	b := startBridge(t, soloPerfectAnswerConfig)
	stroke := `{"system":"http://snomed.info/sct","code":"230690007"}`
	post(t, b.Base+"/fhir", paBundle("pat-pa1", "MRN-CANARY-1", "sr-pa1", "ed-main", stroke), 200)
	b.Wait("the perfect-answer visit", func() bool { return len(b.Sim.PerfectAnswers()) == 1 })
	v := b.Sim.PerfectAnswers()[0]
	if v.Body["locationId"] != paLocationID || v.Body["reason"] != "Stroke" || v.Body["consultType"] != "new" ||
		v.Body["mrn"] != "MRN-CANARY-1" || v.Body["requestingProvider"] != "Bob Dylan" || v.Body["patientLocation"] != "ED bay 4" {
		t.Errorf("Solo got %+v", v.Body)
	}
	encPath := "/fhir/Encounter/solo-pa-" + v.EncounterID
	b.Wait("the visit's Encounter", func() bool { return strings.Contains(paGet(t, b.Base+encPath), `"basedOn"`) })
	enc := paGet(t, b.Base+encPath)
	for _, want := range []string{`"basedOn":[{"reference":"ServiceRequest/sr-pa1"}]`, `"subject":{"reference":"Patient/pat-pa1"}`,
		`"value":"` + v.EncounterID + `"`} {
		if !strings.Contains(enc, want) {
			t.Errorf("Encounter lacks %s:\n%s", want, enc)
		}
	}
	if p := paGet(t, b.Base+"/fhir/Patient/pat-pa1"); !strings.Contains(p, `{"system":"urn:fhirbridge:solo:id","value":"`+v.PatientID+`"}`) {
		t.Errorf("the Patient lacks its Solo id:\n%s", p)
	}
	sr := paGet(t, b.Base+"/fhir/ServiceRequest/sr-pa1")
	if !strings.Contains(sr, `"value":"`+v.EncounterID+`"`) || !strings.Contains(sr, `{"url":"urn:fhirbridge:solo:patientId","valueString":"`+v.PatientID+`"}`) {
		t.Errorf("the ServiceRequest lacks the answer:\n%s", sr)
	}

	// a second request for the patient within 24 hours, and one Solo
	// refuses for its locationId
	post(t, b.Base+"/fhir", paBundle("pat-pa1", "MRN-CANARY-1", "sr-pa2", "ed-main", `{"code":"eeg-stat"}`), 200)
	post(t, b.Base+"/fhir", paBundle("pat-pa3", "MRN-CANARY-3", "sr-pa3", "ward-9", stroke), 200)
	dead := func() string {
		out, _, _ := run(t, "", "deliveries", "list", "--state", "dlq", "--config", b.Config)
		return out
	}
	b.Wait("two dead letters", func() bool { return strings.Count(strings.TrimSpace(dead()), "\n") == 2 })
	out := dead()
	for _, want := range []string{"ServiceRequest/sr-pa2", "ServiceRequest/sr-pa3"} {
		if !strings.Contains(out, want) {
			t.Errorf("deliveries list --state dlq lacks %q:\n%s", want, out)
		}
	}
	jobOf := func(sr string) string {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 2 && strings.HasPrefix(f[2], "ServiceRequest/"+sr+"/") {
				return f[0]
			}
		}
		return "none"
	}
	for sr, want := range map[string]string{
		"sr-pa2": "a visit has already been created for the patient within 24 hours (not retried)",
		"sr-pa3": "solo answered 400 Bad Request to POST /qapi/v1/perfect-answer (fields: locationId): solo said: Bad parameters [locationId: This is not a valid UUID.]",
	} {
		id := jobOf(sr)
		show, stderr, code := run(t, "", "deliveries", "show", id, "--config", b.Config)
		if code != 0 || !strings.Contains(show, want) {
			t.Errorf("deliveries show %s (exit %d) lacks %q:\n%s%s", id, code, want, show, stderr)
		}
	}
	if n := len(b.Sim.PerfectAnswers()); n != 1 {
		t.Errorf("%d visits at Solo, want 1", n)
	}
	for _, id := range []string{"sr-pa2", "sr-pa3"} {
		if s := paGet(t, b.Base+"/fhir/ServiceRequest/"+id); !strings.Contains(s, `"status":"active"`) || strings.Contains(s, "urn:fhirbridge:solo:id") || strings.Contains(s, "patientId") {
			t.Errorf("refused %s changed:\n%s", id, s)
		}
	}
	b.Stop()
	b.NoCanary("Canaryson", "Tweety", "MRN-CANARY", "Caller Canary", "k-test")
}

// TestCheckSoloPerfectAnswerTables: check --config refuses a bad table
// entry, naming the key and the entry.
func TestCheckSoloPerfectAnswerTables(t *testing.T) {
	t.Setenv("BRIDGE_SOLO_KEY", "k-test")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	text := "data_dir: " + dir + "\n" + strings.NewReplacer("$SIMURL", "http://127.0.0.1:9",
		"eeg-stat: EEG Stat", "eeg-stat: Migraine", "ward-9: \"123\"", "\"bad/id\": x").Replace(soloPerfectAnswerConfig)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "", "check", "--config", cfg)
	all := out + stderr
	for _, want := range []string{`connectors.solo.perfect_answer.reasons[eeg-stat]: "Migraine" is not one of Stroke, EEG Stat, EEG Routine`,
		`connectors.solo.perfect_answer.locations: "bad/id" is not a FHIR Location id`} {
		if !strings.Contains(all, want) {
			t.Errorf("check lacks %q (exit %d):\n%s", want, code, all)
		}
	}
	if code == 0 {
		t.Errorf("check passed:\n%s", all)
	}
}

// paGet reads url and returns its body ("" when not 200).
func paGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return ""
	}
	return string(b)
}

// TestReadmeSoloPerfectAnswer runs the README's perfect-answer
// walk-through: its config against the simulator, the demo Bundle posted,
// the ids back on the Patient and the ServiceRequest and the Encounter
// stored; the same request again within 24 hours is a dead letter.
func TestReadmeSoloPerfectAnswer(t *testing.T) {
	cfg := strings.NewReplacer(`"http://127.0.0.1:8090"`, `"$SIMURL"`, "SOLO_API_KEY", "BRIDGE_SOLO_KEY").
		Replace(readmeBlock(t, "solo-perfect-answer"))
	b := startBridge(t, cfg)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "fixtures", "demo", "perfect-answer.json"))
	if err != nil {
		t.Fatal(err)
	}
	post(t, b.Base+"/fhir", string(raw), 200)
	b.Wait("the visit", func() bool { return len(b.Sim.PerfectAnswers()) == 1 })
	v := b.Sim.PerfectAnswers()[0]
	b.Wait("the Encounter", func() bool {
		return strings.Contains(paGet(t, b.Base+"/fhir/Encounter/solo-pa-"+v.EncounterID), `"reference":"ServiceRequest/sr-pa-demo"`)
	})
	if p := paGet(t, b.Base+"/fhir/Patient/pat-pa-demo"); !strings.Contains(p, `"value":"`+v.PatientID+`"`) {
		t.Errorf("Patient:\n%s", p)
	}
	if s := paGet(t, b.Base+"/fhir/ServiceRequest/sr-pa-demo"); !strings.Contains(s, `"value":"`+v.EncounterID+`"`) {
		t.Errorf("ServiceRequest:\n%s", s)
	}
	if v.Body["reason"] != "Stroke" || v.Body["caller"] != "ED charge nurse" || v.Body["physicianNotified"] != "2026-12-01T08:05:00Z" {
		t.Errorf("Solo got %+v", v.Body)
	}
	post(t, b.Base+"/fhir", strings.ReplaceAll(string(raw), "sr-pa-demo", "sr-pa-demo-2"), 200)
	b.Wait("the dead letter", func() bool {
		out, _, _ := run(t, "", "deliveries", "list", "--state", "dlq", "--config", b.Config)
		return strings.Contains(out, "ServiceRequest/sr-pa-demo-2/")
	})
	b.NoCanary("Ejemplo", "PA-000123", "1961-04-17")
}
