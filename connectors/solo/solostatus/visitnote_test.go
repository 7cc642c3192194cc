package solostatus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

const noteCanary = "CANARY-PHI-7f3"

func (f *fixture) visitNotes(t *testing.T, log *slog.Logger) *VisitNotes {
	t.Helper()
	note, comment, err := LoadVisitNoteMappings()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := solo.New(solo.Config{BaseURL: f.simURL, APIKey: solosim.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	return &VisitNotes{Store: f.st, Solo: conn, Note: note, Comment: comment, Log: log, EHRFlow: delivery.EHRFlow}
}

// drain works the due jobs of the webhook and visit-note flows.
func drain(t *testing.T, f *fixture, vn *VisitNotes) {
	t.Helper()
	r, err := delivery.NewRunner(context.Background(), f.st, map[string]delivery.Flow{WebhookFlow: f.s.Flow(), VisitNoteFlow: vn.Flow()}, delivery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestVisitNoteBack: an appointment finished at Solo is synced, its job
// reads the note into a QuestionnaireResponse and a Communication (queued
// for the EHR), a second read of the unchanged note stores no new version,
// an appointment without a note ends as a permanent "no visit note", and
// no patient value reaches a log line or an error.
func TestVisitNoteBack(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	f.s.Log, f.s.VisitNotes = log, true
	vn := f.visitNotes(t, log)
	said := f.appointment(t, "appt-1", true)
	other := f.appointment(t, "appt-2", true)
	n, _ := strconv.Atoi(said)
	at := time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC)
	f.sim.SeedVisitNote(n, solosim.VisitNote{TemplateID: "be9180f7-b0c0-42a5-9b14-c8b67a3b4c0f", Name: "Acute Neurology",
		Questions: []solosim.VisitNoteQuestion{{ID: "923c5621", Section: "Exam", Name: "Sex"}, {ID: "q-2", Section: "Exam", Name: "Findings"}},
		Answers:   map[string][]string{"923c5621": {"Male"}, "q-2": {noteCanary}},
		Answered:  map[string]time.Time{"923c5621": at, "q-2": at},
		Comments:  []solosim.VisitNoteComment{{ID: "c-1", Message: noteCanary, Username: "dr@example.org", AuthorID: 7, PostedAt: 1796133900}}})
	for _, s := range []string{said, other} {
		m, _ := strconv.Atoi(s)
		if _, err := f.sim.SetAppointmentStatus(m, "completed", ""); err != nil {
			t.Fatal(err)
		}
		if r, err := f.s.SyncAppointment(ctx, s); err != nil || r.Status != "fulfilled" {
			t.Fatalf("sync %s: %+v %v", s, r, err)
		}
	}
	drain(t, f, vn)

	qrID := VisitNoteID(said, "be9180f7-b0c0-42a5-9b14-c8b67a3b4c0f")
	body, version, err := f.st.GetResource(ctx, "QuestionnaireResponse", qrID)
	if err != nil || version != 1 {
		t.Fatalf("QuestionnaireResponse %s: v%d %v", qrID, version, err)
	}
	qr, _ := fhir.Decode(body, fhir.DecodeOptions{})
	for _, want := range []string{
		`"questionnaire":"urn:fhirbridge:solo:visit-note-template:be9180f7-b0c0-42a5-9b14-c8b67a3b4c0f"`,
		`"encounter":{"reference":"Encounter/solo-visit-` + said + `"}`,
		`"subject":{"reference":"Patient/pat-1"}`,
		`"valueReference":{"reference":"Appointment/appt-1"}`,
		`"authored":"2026-12-01T14:05:00Z"`,
		`"linkId":"923c5621"`, `"valueString":"Male"`, `"linkId":"Exam"`,
		`"code":"visit-note"`,
	} {
		if !strings.Contains(string(qr.JSON()), want) {
			t.Errorf("QuestionnaireResponse lacks %s:\n%s", want, qr.JSON())
		}
	}
	cid := VisitNoteCommentID(said, "c-1")
	com, _, err := f.st.GetResource(ctx, "Communication", cid)
	if err != nil || !strings.Contains(string(com), `"about":[{"reference":"QuestionnaireResponse/`+qrID+`"}]`) ||
		!strings.Contains(string(com), `"sent":"2026-12-01T14:05:00Z"`) {
		t.Fatalf("Communication %s: %s %v", cid, com, err)
	}
	jobs, err := delivery.NewQueue(f.st).List(ctx, delivery.Filter{Flow: delivery.EHRFlow})
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]bool{}
	for _, j := range jobs {
		queued[j.ResourceType+"/"+j.ResourceID] = true
	}
	if !queued["QuestionnaireResponse/"+qrID] || !queued["Communication/"+cid] {
		t.Errorf("EHR jobs: %v", queued)
	}

	res, err := vn.Fetch(ctx, said)
	if err != nil || res.Changed != 0 || len(res.Notes) != 1 || len(res.Comments) != 1 {
		t.Fatalf("second read: %+v %v", res, err)
	}
	if _, version, _ := f.st.GetResource(ctx, "QuestionnaireResponse", qrID); version != 1 {
		t.Errorf("an unchanged note made version %d", version)
	}

	_, err = vn.Fetch(ctx, other)
	if !errors.Is(err, ErrNoVisitNote) {
		t.Fatalf("no note: %v", err)
	}
	nj, err := delivery.NewQueue(f.st).List(ctx, delivery.Filter{Flow: VisitNoteFlow})
	if err != nil || len(nj) != 2 {
		t.Fatalf("visit-note jobs: %+v %v", nj, err)
	}
	for _, j := range nj {
		var d noteJob
		_ = json.Unmarshal(j.Data, &d)
		switch {
		case d.SAID == said && j.State != delivery.StateDelivered:
			t.Errorf("job of %s: %s %s", said, j.State, j.LastError)
		case d.SAID == other && (j.State != delivery.StateDeadLetter || !strings.Contains(j.LastError, ErrNoVisitNote.Error()) || j.Attempts != 1):
			t.Errorf("job without a note: %s after %d: %s", j.State, j.Attempts, j.LastError)
		}
	}
	if _, err := vn.Fetch(ctx, "99999"); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown SAID: %v", err)
	}
	if strings.Contains(logs.String(), noteCanary) {
		t.Errorf("a patient value reached the log:\n%s", logs.String())
	}
}

// TestVisitNoteTransient: a Solo failure is retried (transient), not a
// dead letter.
func TestVisitNoteTransient(t *testing.T) {
	f := newFixture(t)
	vn := f.visitNotes(t, nil)
	said := f.appointment(t, "appt-1", true)
	f.sim.Inject(solosim.Fault{Path: "/qapi/v1/appointments/*/visit-note", Status: 503, Times: 1})
	_, err := vn.Fetch(context.Background(), said)
	if c, _ := connectors.Classify(err); err == nil || c != connectors.Transient {
		t.Fatalf("503: %v (%v)", err, c)
	}
}

func TestParseVisitNotes(t *testing.T) {
	note := func(responses string) string {
		return `[{"id":"t1","template":{"name":"T","flow":{"sections":[{"name":"S","questions":[{"id":"qid","name":"Q"}]}]}},"comments":[],"responses":[` + responses + `]}]`
	}
	tests := []struct {
		name, in string
		// want is the JSON of the first note's items, or the error substring after "!"
		want     string
		authored string
	}{
		{"the spec's named zone", note(`{"dateTime":{"date":"2017-10-21 16:45:53.000000","timezone_type":3,"timezone":"America/New_York"},"question":["S","Q"],"response":["a","b"]}`),
			`[{"linkId":"S","text":"S","items":[{"linkId":"qid","text":"Q","answered":"2017-10-21T20:45:53Z","answers":[{"string":"a"},{"string":"b"}]}]}]`, "2017-10-21T20:45:53Z"},
		{"an offset", note(`{"dateTime":{"date":"2017-10-21 16:45:53","timezone_type":1,"timezone":"+02:00"},"question":["S","other"],"response":[1,2.5,true,null,""]}`),
			`[{"linkId":"S","text":"S","items":[{"linkId":"S/other","text":"other","answered":"2017-10-21T14:45:53Z","answers":[{"integer":1},{"decimal":2.5},{"boolean":true}]}]}]`, "2017-10-21T14:45:53Z"},
		{"no time, a deep path folded", note(`{"question":["a","b","c","d"],"response":["x"]}`),
			`[{"linkId":"a","text":"a","items":[{"linkId":"a/b","text":"b","items":[{"linkId":"a/b/c / d","text":"c / d","answers":[{"string":"x"}]}]}]}]`, ""},
		{"zone abbreviation", note(`{"dateTime":{"date":"2017-10-21 16:45:53","timezone_type":2,"timezone":"EST"},"question":["S","Q"],"response":[]}`), "!timezone_type", ""},
		{"unknown zone", note(`{"dateTime":{"date":"2017-10-21 16:45:53","timezone_type":3,"timezone":"Mars/Olympus"},"question":["S","Q"],"response":[]}`), "!unknown time zone", ""},
		{"bad date", note(`{"dateTime":{"date":"21/10/2017","timezone_type":3,"timezone":"UTC"},"question":["S","Q"],"response":[]}`), "!dateTime.date", ""},
		{"empty path", note(`{"question":[],"response":["x"]}`), "!segments", ""},
		{"object value", note(`{"question":["S","Q"],"response":[{"v":"` + noteCanary + `"}]}`), "!neither text", ""},
		{"not an array", `{"id":"` + noteCanary + `"}`, "!documented visit-note array", ""},
		{"no template id", `[{"responses":[]}]`, "!template id", ""},
		{"comment without id", `[{"id":"t","comments":[{"message":"` + noteCanary + `"}]}]`, "!comment 0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			notes, err := parseVisitNotes([]byte(tc.in))
			if wantErr, isErr := strings.CutPrefix(tc.want, "!"); isErr {
				if err == nil || !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), noteCanary) {
					t.Fatalf("err %v, want %q", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(notes[0].items)
			if string(got) != tc.want {
				t.Errorf("items\n got %s\nwant %s", got, tc.want)
			}
			if a := ""; !notes[0].authored.IsZero() {
				a = notes[0].authored.Format(time.RFC3339)
				if a != tc.authored {
					t.Errorf("authored %s, want %s", a, tc.authored)
				}
			} else if tc.authored != "" {
				t.Errorf("no authored, want %s", tc.authored)
			}
		})
	}
	if _, err := parseVisitNotes(bytes.Repeat([]byte(" "), maxNoteBytes+1)); err == nil {
		t.Error("an oversized answer was read")
	}
}

func FuzzParseVisitNotes(f *testing.F) {
	f.Add([]byte(`[{"id":"t","template":{"name":"n","flow":{"sections":[]}},"comments":[{"id":"c","postedAt":1,"author":{"id":1,"username":"u"}}],"responses":[{"dateTime":{"date":"2017-10-21 16:45:53.000000","timezone_type":3,"timezone":"America/New_York"},"question":["s","q"],"response":["a"]}]}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		notes, err := parseVisitNotes(data)
		if err != nil {
			return
		}
		for _, n := range notes {
			if _, err := n.record(noteRefs{said: "1", appointment: "Appointment/a", encounter: "Encounter/e"}, "x"); err != nil {
				t.Fatalf("record of a parsed note: %v", err)
			}
		}
	})
}
