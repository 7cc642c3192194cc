package solo

// The perfect-answer integration (spec "Perfect answer API"):
//
//	solo/perfect-answer  create  POST /qapi/v1/perfect-answer  → {"patientId", "encounterId"}
//
// The mapping (mapping/shipped/solo/perfect-answer.yaml) builds Solo's body
// from a ServiceRequest except the two looked-up fields, and gives the FHIR
// ids the call needs in a "bridge" member that is never sent: the
// Patient's id, the Location's id and the request's reason codings
// ("system|code"). PerfectAnswer (the connector the module wires for the
// route) turns the Location into Solo's FMS locationId and the first
// reason coding found into Solo's reason through PerfectAnswerTables.
//
// What comes back: the encounterId is the ServiceRequest's Solo id
// (crosswalk and identifier urn:fhirbridge:solo:id) and the patientId an
// attribute on it (extension urn:fhirbridge:solo:patientId); through
// connectors.Result.Related the Patient gets the patientId as its Solo id
// (unless it already has one, e.g. from solo/patient, which is kept) and a
// new Encounter solo-pa-<encounterId> is stored, basedOn the
// ServiceRequest, subject the Patient — all in the transaction that
// records the delivery, and routed.
//
// Only the first delivered version calls Solo: perfect answer has no
// update, so a later version of a delivered ServiceRequest (an Update) is
// recorded as delivered without a call. There is no lookup either: a
// retry after an answer lost in transit meets Solo's 24-hour rule and is
// dead-lettered with ErrVisitWithin24h.
//
// Rejections are permanent (Solo answers 4xx): "Bad parameters [field:
// …]" names the field in the dead letter (StatusError.Fields, Solo's
// wording through connectors.VendorReason); "A visit has already been
// created for the patient within 24 hours" is ErrVisitWithin24h. The
// ServiceRequest's status is left as the EHR sent it: the order is the
// EHR's, and a refusal by Solo is no error in it — the dead letter is the
// operator's signal.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// FlowPerfectAnswer is the perfect-answer flow (mapping name).
const FlowPerfectAnswer = "solo/perfect-answer"

// PerfectAnswerReasons are the reasons Solo's perfect answer takes.
var PerfectAnswerReasons = []string{"Stroke", "EEG Stat", "EEG Routine"}

// DefaultPerfectAnswerReasons is the reason table used when the
// configuration gives none: Solo's three reasons as codes of any system.
var DefaultPerfectAnswerReasons = map[string]string{"Stroke": "Stroke", "EEG Stat": "EEG Stat", "EEG Routine": "EEG Routine"}

// Errors of the perfect-answer flow, each arriving classified Permanent.
var (
	// ErrVisitWithin24h: Solo refused because a visit was already created
	// for the patient within 24 hours; retrying cannot help.
	ErrVisitWithin24h = errors.New("solo refused the perfect answer: a visit has already been created for the patient within 24 hours (not retried)")
	// ErrNoLocation: the request's Location has no FMS locationId in the
	// table (connectors.solo.perfect_answer.locations).
	ErrNoLocation = errors.New("no FMS locationId for the request's location in connectors.solo.perfect_answer.locations")
	// ErrNoReason: none of the request's reason codings is in the table
	// (connectors.solo.perfect_answer.reasons).
	ErrNoReason = errors.New("no reasonCode coding of the request is in connectors.solo.perfect_answer.reasons")
)

// within24h is Solo's documented rejection text.
const within24h = "A visit has already been created for the patient within 24 hours"

// MaxPerfectAnswerBody bounds the body sent (the mapping's output is
// small; a larger one is a mapping or data error).
const MaxPerfectAnswerBody = 64 << 10

// soloID is the shape accepted for Solo's patientId and encounterId (a
// UUID in the spec): a Solo id becomes part of a FHIR id (solo-pa-<id>).
var soloID = regexp.MustCompile(`^[A-Za-z0-9-]{1,56}$`)

// PerfectAnswerTables are the lookup tables of the flow.
type PerfectAnswerTables struct {
	// Locations maps a FHIR Location id (ServiceRequest.locationReference)
	// to Solo's FMS locationId.
	Locations map[string]string
	// Reasons maps a reason coding, as "system|code" or a bare code, to
	// one of PerfectAnswerReasons; nil uses DefaultPerfectAnswerReasons.
	Reasons map[string]string
}

// PerfectAnswer is the connector of a perfect-answer route: it fills
// locationId and reason from Tables, then delivers through Next.
type PerfectAnswer struct {
	Next   connectors.Connector
	Tables PerfectAnswerTables
}

// Deliver resolves the looked-up fields of a perfect-answer body and
// delivers it through Next; other flows pass through unchanged.
func (p *PerfectAnswer) Deliver(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Flow == FlowPerfectAnswer && d.Op == connectors.Create && d.Body != nil {
		body, err := p.Tables.resolve(d.Body)
		if err != nil {
			return connectors.Result{}, fmt.Errorf("delivering %s of %s/%s: %w", d.Flow, d.ResourceType, d.ResourceID, err)
		}
		d.Body = body
	}
	return p.Next.Deliver(ctx, d)
}

// resolve returns a copy of body with locationId and reason from the
// tables; errors name the table, never the value.
func (t PerfectAnswerTables) resolve(body *fhir.Value) (*fhir.Value, error) {
	b := body.Get("bridge")
	loc, ok := t.Locations[b.GetString("location")]
	if !ok || loc == "" {
		return nil, connectors.Permanently(ErrNoLocation)
	}
	reasons := t.Reasons
	if reasons == nil {
		reasons = DefaultPerfectAnswerReasons
	}
	reason := ""
	if rs := b.Get("reasons"); rs != nil {
		for _, it := range rs.Items {
			key := it.Str
			if r, ok := reasons[key]; ok {
				reason = r
				break
			}
			if _, code, cut := strings.Cut(key, "|"); cut {
				if r, ok := reasons[code]; ok {
					reason = r
					break
				}
			}
		}
	}
	if reason == "" {
		return nil, connectors.Permanently(ErrNoReason)
	}
	out := with(body, "locationId", fhir.NewString(loc))
	out.Set("reason", fhir.NewString(reason))
	return out, nil
}

// CheckPerfectAnswerTables reports every bad entry of the tables, each
// naming key (the config key of the table) and the entry's key.
func CheckPerfectAnswerTables(t PerfectAnswerTables, key string) []error {
	var errs []error
	for _, k := range sortedKeys(t.Locations) {
		v := t.Locations[k]
		switch {
		case !fhirID.MatchString(k):
			errs = append(errs, fmt.Errorf("%s.locations: %q is not a FHIR Location id", key, k))
		case strings.TrimSpace(v) == "" || len(v) > 64:
			errs = append(errs, fmt.Errorf("%s.locations[%s]: want Solo's FMS locationId (1 to 64 characters)", key, k))
		}
	}
	for _, k := range sortedKeys(t.Reasons) {
		v := t.Reasons[k]
		if strings.TrimSpace(k) == "" || len(k) > 256 {
			errs = append(errs, fmt.Errorf("%s.reasons: an empty or over-long coding key", key))
			continue
		}
		ok := false
		for _, r := range PerfectAnswerReasons {
			ok = ok || v == r
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%s.reasons[%s]: %q is not one of Stroke, EEG Stat, EEG Routine", key, k, v))
		}
	}
	return errs
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func init() {
	registerFlow(FlowPerfectAnswer, (*Connector).deliverPerfectAnswer)
	for _, f := range strings.Fields(`firstName lastName dob locationId mrn physicianCallbackNumber
		requestingProvider callCenterNotified physicianNotified patientLocation consultType reason caller`) {
		soloFields[f] = true
	}
}

// deliverPerfectAnswer POSTs the perfect answer of a ServiceRequest's
// first delivered version and returns the visit as Related records.
func (c *Connector) deliverPerfectAnswer(ctx context.Context, d connectors.Delivery) (connectors.Result, error) {
	if d.Op == connectors.Update && d.VendorID != "" { // no update call: the visit exists
		return connectors.Result{VendorID: d.VendorID}, nil
	}
	if d.Op != connectors.Create {
		return connectors.Result{}, connectors.Permanently(ErrUnsupported)
	}
	patient := d.Body.Get("bridge").GetString("patient")
	if !fhirID.MatchString(patient) {
		return connectors.Result{}, connectors.Permanently(errors.New("perfect answer: no Patient id in the mapped body (bridge.patient)"))
	}
	if d.Body.GetString("locationId") == "" || d.Body.GetString("reason") == "" {
		return connectors.Result{}, connectors.Permanently(errors.New("perfect answer: locationId or reason not resolved (route not wired through solo.PerfectAnswer)"))
	}
	body := &fhir.Value{Kind: fhir.Object}
	for _, m := range d.Body.Members {
		if m.Key != "bridge" {
			body.Members = append(body.Members, m)
		}
	}
	data := body.JSON()
	if len(data) > MaxPerfectAnswerBody {
		return connectors.Result{}, connectors.Permanently(fmt.Errorf("perfect answer body over %d bytes", MaxPerfectAnswerBody))
	}
	_, ans, err := c.call(ctx, http.MethodPost, connectors.PathOf("/qapi/v1/perfect-answer"), data)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status >= 400 && se.Status < 500 && isWithin24h(ans) {
			return connectors.Result{}, connectors.Permanently(ErrVisitWithin24h)
		}
		return connectors.Result{}, fmt.Errorf("creating the perfect-answer visit: %w", err)
	}
	pid, eid, err := perfectAnswerIDs(ans)
	if err != nil {
		// the visit exists at Solo: a retry would meet the 24-hour rule
		return connectors.Result{}, connectors.Permanently(fmt.Errorf("creating the perfect-answer visit: %w", err))
	}
	enc := perfectAnswerEncounter(eid, patient, d.ResourceID, d.Body.GetString("reason"))
	return connectors.Result{
		VendorID:   eid,
		Attributes: map[string]string{"patientId": pid},
		Related: []connectors.Related{
			{Type: "Patient", ID: patient, VendorID: pid},
			{Type: "Encounter", ID: enc.GetString("id"), Resource: enc, VendorID: eid},
		},
	}, nil
}

// isWithin24h reports Solo's 24-hour rejection in an error answer.
func isWithin24h(ans []byte) bool {
	var doc struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal(ans, &doc) == nil && strings.Contains(doc.Error.Message, within24h)
}

// perfectAnswerIDs reads Solo's {"patientId", "encounterId"} answer.
func perfectAnswerIDs(ans []byte) (patientID, encounterID string, err error) {
	var a struct {
		PatientID   json.RawMessage `json:"patientId"`
		EncounterID json.RawMessage `json:"encounterId"`
	}
	if json.Unmarshal(ans, &a) != nil {
		return "", "", fmt.Errorf("%w: the answer is not a JSON object (the visit may exist at solo)", ErrBadAnswer)
	}
	patientID, encounterID = answerID(a.PatientID), answerID(a.EncounterID)
	if !soloID.MatchString(patientID) || !soloID.MatchString(encounterID) {
		return "", "", fmt.Errorf("%w: no usable patientId and encounterId (the visit may exist at solo)", ErrBadAnswer)
	}
	return patientID, encounterID, nil
}

// perfectAnswerEncounter is the FHIR Encounter of a perfect-answer
// visit: planned (Solo has just created the appointment), virtual,
// basedOn the ServiceRequest, subject the Patient, the reason as text.
func perfectAnswerEncounter(encounterID, patientID, serviceRequestID, reason string) *fhir.Value {
	ref := func(r string) *fhir.Value {
		o := fhir.NewObject()
		o.Set("reference", fhir.NewString(r))
		return o
	}
	ident := fhir.NewObject()
	ident.Set("system", fhir.NewString("urn:fhirbridge:solo:id"))
	ident.Set("value", fhir.NewString(encounterID))
	class := fhir.NewObject()
	class.Set("system", fhir.NewString("http://terminology.hl7.org/CodeSystem/v3-ActCode"))
	class.Set("code", fhir.NewString("VR"))
	class.Set("display", fhir.NewString("virtual"))
	enc := fhir.NewObject()
	enc.Set("resourceType", fhir.NewString("Encounter"))
	enc.Set("id", fhir.NewString("solo-pa-"+encounterID))
	enc.Set("identifier", fhir.NewArray(ident))
	enc.Set("status", fhir.NewString("planned"))
	enc.Set("class", class)
	enc.Set("subject", ref("Patient/"+patientID))
	if serviceRequestID != "" {
		enc.Set("basedOn", fhir.NewArray(ref("ServiceRequest/"+serviceRequestID)))
	}
	if reason != "" {
		rc := fhir.NewObject()
		rc.Set("text", fhir.NewString(reason))
		enc.Set("reasonCode", fhir.NewArray(rc))
	}
	return enc
}
