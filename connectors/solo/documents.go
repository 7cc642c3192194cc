package solo

// Patient documents (spec "Patient Documents"):
//
//	solo/questionnaire-document  create, update  POST /qapi/v1/patients/{patient id}/documents
//
// The body {"name", "dateTime", "responses": [{"question", "response"}]}
// comes from the shipped mapping solo/questionnaire-document (a
// QuestionnaireResponse). Delivery.Parent is the Solo id of the patient
// (the route's Parent is "Patient"). Solo answers [] and offers no way to
// read, change or delete a document, so the document has no vendor id, an
// update adds the new version as another document, and a retry after an
// attempt that may have reached Solo can add it twice (the spec gives no
// way to look it up).

import (
	"context"
	"fmt"
	"net/http"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// FlowQuestionnaireDocument is the patient document flow (mapping name).
const FlowQuestionnaireDocument = "solo/questionnaire-document"

// AddPatientDocument adds a document (name, dateTime, responses) to the
// patient with the caller id patientID.
func (c *Connector) AddPatientDocument(ctx context.Context, patientID string, body []byte) error {
	if _, _, err := c.extDo(ctx, extRequest{method: http.MethodPost, path: connectors.PathOf("/qapi/v1/patients/{spid}/documents", patientID), body: body}); err != nil {
		return fmt.Errorf("adding patient document: %w", err)
	}
	return nil
}

// deliverDocument adds a patient document (flow solo/questionnaire-document).
func (c *Connector) deliverDocument(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Op != connectors.Create && d.Op != connectors.Update {
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	if d.Parent == "" {
		return connectors.Result{}, connectors.Transiently(ErrNoParent, 0)
	}
	return connectors.Result{}, c.AddPatientDocument(ctx, d.Parent, d.Body.JSON())
}
