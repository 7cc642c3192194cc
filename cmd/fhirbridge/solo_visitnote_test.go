package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solostatus"
)

const visitNoteBundle = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"resource":{"resourceType":"Patient","id":"pat-vn","identifier":[{"system":"urn:mrn","value":"MRN-VN1"}],
   "name":[{"family":"Notecanary","given":["Vera"]}],"gender":"female","birthDate":"1970-05-06"},
  "request":{"method":"PUT","url":"Patient/pat-vn"}},
 {"resource":{"resourceType":"Appointment","id":"appt-vn","status":"booked","start":"2026-12-01T08:30:00Z","end":"2026-12-01T08:45:00Z",
   "participant":[{"actor":{"reference":"Patient/pat-vn"},"status":"accepted"}]},
  "request":{"method":"PUT","url":"Appointment/appt-vn"}}]}`

// TestSoloVisitNotesEndToEnd runs serve with the Solo routes, the webhook
// receiver, visit_notes and an EHR: the appointment reaches Solo, finishes
// there (webhook), its note comes back as a QuestionnaireResponse and its
// comment as a Communication (both pushed to the EHR); the sign-off reads
// the unchanged note again without a new version; the stored response
// posted back is not sent (no loop) and is no patient document; an edited
// response goes forward as a PUT with the question ids.
func TestSoloVisitNotesEndToEnd(t *testing.T) {
	sim := solosim.New(solosim.Options{APIKey: "k-test", WaitingRooms: []string{"General Practice", "Telehealth"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/qapi/v1/webhooks", strings.NewReader(`{"endpoint":"http://`+addr+`/solo/webhooks/`+token+`","events":["appointment:completed"]}`))
	req.Header.Set("Api-Key", "k-test")
	sim.ServeHTTP(rec, req)
	var wh struct {
		EncryptionKey string `json:"encryptionKey"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &wh); err != nil || wh.EncryptionKey == "" {
		t.Fatalf("registering the webhook at the simulator: %d %s", rec.Code, rec.Body)
	}
	t.Setenv("VN_WH_TOKEN", token)
	t.Setenv("VN_WH_KEY", wh.EncryptionKey)
	var ehrMu sync.Mutex
	ehrPuts := map[string]string{}
	ehr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet { // the conditional write's read: the EHR has no copy yet
			w.WriteHeader(http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		ehrMu.Lock()
		ehrPuts[r.Method+" "+r.URL.Path] = string(b)
		ehrMu.Unlock()
	}))
	defer ehr.Close()
	t.Setenv("VN_EHR_TOKEN", "ehr-vn")

	b := startBridgeOn(t, sim, `server: {listen: "`+addr+`"}
ehr: {fhir_base_url: "`+ehr.URL+`/fhir", token: {env: VN_EHR_TOKEN}}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
  - {name: solo-visit-notes, resource: QuestionnaireResponse, mapping: solo/visit-note-update, connector: solo,
     when: "extension.where(url = 'urn:fhirbridge:solo:appointment').exists() and meta.tag.where(system = 'urn:fhirbridge:solo' and code = 'visit-note').empty()"}
  - {name: solo-documents, resource: QuestionnaireResponse, mapping: solo/questionnaire-document, connector: solo,
     when: "extension.where(url = 'urn:fhirbridge:solo:appointment').empty()"}
connectors:
  solo:
    base_url: "$SIMURL"
    api_key: {env: BRIDGE_SOLO_KEY}
    webhooks: {token: {env: VN_WH_TOKEN}, encryption_key: {env: VN_WH_KEY}}
    visit_notes: {}
`)
	post(t, b.Base+"/fhir", visitNoteBundle, 200)
	said := 0
	b.Wait("the appointment at Solo", func() bool {
		for _, a := range sim.Appointments() {
			if a.ExternalID == "appt-vn" {
				said = a.SAID
			}
		}
		return said != 0 && strings.Contains(vnGet(t, b.Base+"/fhir/Appointment/appt-vn"), "urn:fhirbridge:solo:id")
	})
	const tpl = "be9180f7-b0c0-42a5-9b14-c8b67a3b4c0f"
	answered := time.Date(2026, 12, 1, 13, 40, 0, 0, time.UTC)
	sim.SeedVisitNote(said, solosim.VisitNote{TemplateID: tpl, Name: "Acute Neurology - Physician Services",
		Questions: []solosim.VisitNoteQuestion{{ID: "923c5621-66a1-49a3-aa7b-a7753cbfd139", Section: "Exam", Name: "Sex"}, {ID: "q-nihss", Section: "Exam", Name: "NIHSS"}},
		Answers:   map[string][]string{"923c5621-66a1-49a3-aa7b-a7753cbfd139": {"Female"}, "q-nihss": {"Notecanary-3"}},
		Answered:  map[string]time.Time{"923c5621-66a1-49a3-aa7b-a7753cbfd139": answered, "q-nihss": answered},
		Comments:  []solosim.VisitNoteComment{{ID: "c-1", Message: "Notecanary follow-up", Username: "dr@example.org", AuthorID: 7, PostedAt: answered.Unix()}}})

	if ds, err := sim.SetAppointmentStatus(said, "completed", ""); err != nil || len(ds) != 1 || ds[0].Status != 200 {
		t.Fatalf("webhook: %+v %v", ds, err)
	}
	s := strconv.Itoa(said)
	qrID, cid := solostatus.VisitNoteID(s, tpl), solostatus.VisitNoteCommentID(s, "c-1")
	var qr string
	b.Wait("the visit note as a QuestionnaireResponse", func() bool {
		qr = vnGetStatus(t, b.Base+"/fhir/QuestionnaireResponse/"+qrID, 200)
		return qr != ""
	})
	if etag := vnETag(t, b.Base+"/fhir/QuestionnaireResponse/"+qrID); etag != `W/"1"` {
		t.Errorf("first read: ETag %s", etag)
	}
	for _, want := range []string{`"linkId":"923c5621-66a1-49a3-aa7b-a7753cbfd139"`, `"valueString":"Female"`, `"authored":"2026-12-01T13:40:00Z"`,
		`"reference":"Encounter/solo-visit-` + s + `"`, `"reference":"Appointment/appt-vn"`} {
		if !strings.Contains(qr, want) {
			t.Errorf("QuestionnaireResponse lacks %s:\n%s", want, qr)
		}
	}
	if com := vnGet(t, b.Base+"/fhir/Communication/"+cid); !strings.Contains(com, `"reference":"QuestionnaireResponse/`+qrID+`"`) {
		t.Errorf("Communication: %s", com)
	}
	b.Wait("the note pushed to the EHR", func() bool {
		ehrMu.Lock()
		defer ehrMu.Unlock()
		return ehrPuts["PUT /fhir/QuestionnaireResponse/"+qrID] != "" && ehrPuts["PUT /fhir/Communication/"+cid] != ""
	})

	// the sign-off changes the Appointment, which reads the note again: unchanged, no new version
	if _, err := sim.SetAppointmentStatus(said, "sign off", ""); err != nil {
		t.Fatal(err)
	}
	b.Wait("the second read", func() bool {
		return strings.Count(b.Log(), `msg="solo visit note read" `) >= 2
	})
	if etag := vnETag(t, b.Base+"/fhir/QuestionnaireResponse/"+qrID); etag != `W/"1"` {
		t.Errorf("an unchanged note made a new version: ETag %s", etag)
	}

	// no loop: the stored response sent in again goes nowhere
	put(t, b.Base+"/fhir/QuestionnaireResponse/"+qrID, qr, 200)
	// an edited response (the EHR's own, untagged) goes forward
	var edited map[string]any
	if err := json.Unmarshal([]byte(qr), &edited); err != nil {
		t.Fatal(err)
	}
	delete(edited, "meta")
	edited["id"] = "qr-vn-edit"
	edited["status"] = "amended"
	body, _ := json.Marshal(edited)
	text := strings.Replace(string(body), `"valueString":"Notecanary-3"`, `"valueString":"Notecanary-4"`, 1)
	put(t, b.Base+"/fhir/QuestionnaireResponse/qr-vn-edit", text, 201)
	var ups []solosim.VisitNoteUpdate
	b.Wait("the PUT at Solo", func() bool {
		ups = sim.VisitNoteUpdates()
		return len(ups) > 0
	})
	time.Sleep(300 * time.Millisecond) // room for a wrong second PUT (the stored response) to arrive
	ups = sim.VisitNoteUpdates()
	if len(ups) != 1 || ups[0].SAID != said || ups[0].Name != "Acute Neurology - Physician Services" ||
		ups[0].Questions["q-nihss"][0] != "Notecanary-4" || ups[0].Questions["923c5621-66a1-49a3-aa7b-a7753cbfd139"][0] != "Female" {
		t.Errorf("Solo saw %+v", ups)
	}
	if docs := sim.PatientDocuments(); len(docs) != 0 {
		t.Errorf("a visit note became a patient document: %+v", docs)
	}
	b.Stop()
	b.NoCanary("Notecanary", "k-test", wh.EncryptionKey)
}

// vnGetStatus GETs url and returns the body when the status is want, else "".
func vnGetStatus(t *testing.T, url string, want int) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return ""
	}
	return string(body)
}

// vnGet GETs url and returns the body, failing unless 200.
func vnGet(t *testing.T, url string) string {
	t.Helper()
	body := vnGetStatus(t, url, 200)
	if body == "" {
		t.Fatalf("GET %s: not 200", url)
	}
	return body
}

// vnETag returns the ETag of a read of url.
func vnETag(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("ETag")
}
