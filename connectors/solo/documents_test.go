package solo

import (
	"context"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

const documentJSON = `{"name":"pre-visit","dateTime":1772359200,"responses":[{"question":"Fever?","response":"true"}]}`

// TestPatientDocuments runs the add-document call against the simulator
// with its errors, and delivers one through the flow.
func TestPatientDocuments(t *testing.T) {
	e := epSetup(t)
	ctx := context.Background()
	tests := []struct {
		name, patient, body string
		status              int
	}{
		{"added", "pat-1", documentJSON, 0},
		{"unknown patient", "nobody", documentJSON, 404},
		{"no name", "pat-1", `{"dateTime":1772359200,"responses":[]}`, 400},
		{"dateTime not a timestamp", "pat-1", `{"name":"n","dateTime":"2026-03-01","responses":[]}`, 400},
		{"responses not pairs", "pat-1", `{"name":"n","dateTime":1772359200,"responses":[{"question":"q"}]}`, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, e.c.AddPatientDocument(ctx, tc.patient, []byte(tc.body)), tc.status, connectors.Permanent)
		})
	}
	d := connectors.Delivery{Flow: FlowQuestionnaireDocument, Key: "QuestionnaireResponse/qr-1/1", ResourceType: "QuestionnaireResponse",
		ResourceID: "qr-1", Op: connectors.Create, Body: body(t, documentJSON), Parent: "pat-1", Fresh: true}
	if res, err := e.c.Deliver(ctx, d); err != nil || res.VendorID != "" {
		t.Fatalf("deliver: %+v %v", res, err)
	}
	docs := e.sim.PatientDocuments()
	if len(docs) != 2 || docs[1].PatientID != "pat-1" || docs[1].Name != "pre-visit" || docs[1].Responses[0] != [2]string{"Fever?", "true"} {
		t.Fatalf("Solo has %+v", docs)
	}
	d.Parent = ""
	if _, err := e.c.Deliver(ctx, d); err == nil {
		t.Fatal("a document without the patient's Solo id was sent")
	}
}
