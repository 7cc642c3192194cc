package solo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestVisitNotes reads and updates visit notes against the simulator,
// with its errors, and delivers an update through the flow.
func TestVisitNotes(t *testing.T) {
	e := epSetup(t) // appointment 5001
	ctx := context.Background()
	if _, err := e.c.VisitNoteJSON(ctx, "5001"); err == nil {
		t.Fatal("a note was read before one exists")
	} else {
		wantStatus(t, err, 404, connectors.Permanent)
	}
	e.sim.SeedVisitNote(5001, solosim.VisitNote{TemplateID: "tpl-1", Name: "Neuro",
		Questions: []solosim.VisitNoteQuestion{{ID: "q1", Section: "Exam", Name: "Sex"}}})
	data, err := e.c.VisitNoteJSON(ctx, "5001")
	if err != nil || !strings.Contains(string(data), `"tpl-1"`) {
		t.Fatalf("read %s, %v", data, err)
	}
	put := []struct {
		name, said, body string
		status           int
	}{
		{"updated", "5001", `{"name":"Neuro","questions":[{"id":"q1","value":["Male"]}]}`, 0},
		{"unknown appointment", "9999", `{"name":"Neuro","questions":[{"id":"q1","value":["Male"]}]}`, 404},
		{"unknown question", "5001", `{"name":"Neuro","questions":[{"id":"q9","value":["Male"]}]}`, 400},
		{"a path segment that cannot be a SAID", "../x", `{}`, -1},
	}
	for _, tc := range put {
		t.Run(tc.name, func(t *testing.T) {
			err := e.c.UpdateVisitNote(ctx, tc.said, []byte(tc.body))
			if tc.status == -1 {
				if c, _ := connectors.Classify(err); err == nil || c != connectors.Permanent {
					t.Fatalf("err %v", err)
				}
				return
			}
			wantStatus(t, err, tc.status, connectors.Permanent)
		})
	}
	deliver := []struct {
		name, body string
		wantErr    error
		fails      bool
		class      connectors.Class
	}{
		{"sent", `{"appointment":"appt-1","appointmentId":"5001","name":"Neuro","questions":[{"id":"q1","value":["Female"]}]}`, nil, false, 0},
		{"appointment not delivered yet", `{"appointment":"appt-1","name":"Neuro","questions":[]}`, ErrNotDelivered, true, connectors.Transient},
		{"no appointment", `{"name":"Neuro","questions":[]}`, nil, true, connectors.Permanent},
	}
	for _, tc := range deliver {
		t.Run(tc.name, func(t *testing.T) {
			d := connectors.Delivery{Flow: FlowVisitNoteUpdate, Key: "QuestionnaireResponse/qr-1/1", ResourceType: "QuestionnaireResponse",
				ResourceID: "qr-1", Op: connectors.Update, Body: body(t, tc.body)}
			_, err := e.c.Deliver(ctx, d)
			if !tc.fails {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if c, _ := connectors.Classify(err); err == nil || c != tc.class || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err %v (class %v), want %v %v", err, c, tc.class, tc.wantErr)
			}
		})
	}
	u := e.sim.VisitNoteUpdates()
	if len(u) != 2 || u[1].Name != "Neuro" || u[1].Questions["q1"][0] != "Female" {
		t.Fatalf("Solo saw %+v", u)
	}
}
