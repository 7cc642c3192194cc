package solosim

// The perfect-answer integration (POST /qapi/v1/perfect-answer).
//
// Choices where the spec is silent:
//   - firstName, lastName, dob, locationId, mrn, requestingProvider,
//     consultType and reason are required (400 "Bad parameters [field:
//     This value should not be blank.]"); dob must be YYYY-MM-DD;
//     callCenterNotified and physicianNotified, when given, ISO date-times;
//     every member a string;
//   - locationId must be a UUID, as the spec's error example says (400
//     "Bad parameters [locationId: This is not a valid UUID.]"), though its
//     body example shows "123";
//   - consultType is new or update, reason Stroke, EEG Stat or EEG Routine;
//   - the patient is the one with the MRN (created on first use; its
//     demographics updated by later calls); its patientId is stable;
//   - the 24-hour rule: a second call for the same patient less than 24
//     hours (by Options.Now) after the last visit created answers 422 with
//     the spec's "Rejected request" body;
//   - ids are UUIDs: patients 00000000-0000-4000-a000-00000000000N,
//     encounters 00000000-0000-4000-b000-00000000000N, in creation order.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// PerfectAnswer is one visit created through the perfect-answer call.
type PerfectAnswer struct {
	PatientID, EncounterID string
	// Body holds the string members received; Unknown names the members
	// the spec does not document (ignored, as Solo does).
	Body    map[string]string
	Unknown []string
	Created time.Time
}

type paState struct {
	visits   []*PerfectAnswer
	patients map[string]string    // MRN → patientId
	last     map[string]time.Time // patientId → last visit created
}

// paMaxField bounds each member of the body.
const paMaxField = 1024

func init() {
	registerArea(func(s *Sim) {
		s.mux.HandleFunc("POST /qapi/v1/perfect-answer", s.perfectAnswer)
	})
}

func (s *Sim) paState() *paState {
	return s.area("perfect-answer", func() any {
		return &paState{patients: map[string]string{}, last: map[string]time.Time{}}
	}).(*paState)
}

// PerfectAnswers returns copies of the visits created, in order.
func (s *Sim) PerfectAnswers() []PerfectAnswer {
	st := s.paState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PerfectAnswer, len(st.visits))
	for i, v := range st.visits {
		out[i] = *v
		out[i].Unknown = slices.Clone(v.Unknown)
		out[i].Body = map[string]string{}
		for k, x := range v.Body {
			out[i].Body[k] = x
		}
	}
	return out
}

var (
	paFields   = []string{"firstName", "lastName", "dob", "locationId", "mrn", "physicianCallbackNumber", "requestingProvider", "callCenterNotified", "physicianNotified", "patientLocation", "consultType", "reason", "caller"}
	paRequired = []string{"firstName", "lastName", "dob", "locationId", "mrn", "requestingProvider", "consultType", "reason"}
)

func (s *Sim) perfectAnswer(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	body := map[string]string{}
	for _, k := range paFields {
		v, present := doc[k]
		if !present || v == nil {
			continue
		}
		str, isStr := v.(string)
		if !isStr {
			badParams(w, k, "This value should be a string.")
			return
		}
		if len(str) > paMaxField {
			badParams(w, k, "This value is too long.")
			return
		}
		body[k] = str
	}
	for _, k := range paRequired {
		if strings.TrimSpace(body[k]) == "" {
			badParams(w, k, "This value should not be blank.")
			return
		}
	}
	if _, err := time.Parse("2006-01-02", body["dob"]); err != nil {
		badParams(w, "dob", "This value is not a valid date.")
		return
	}
	if !uuidPattern.MatchString(body["locationId"]) {
		badParams(w, "locationId", "This is not a valid UUID.")
		return
	}
	for _, k := range []string{"callCenterNotified", "physicianNotified"} {
		if v, ok := body[k]; ok {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				badParams(w, k, "This value is not a valid datetime.")
				return
			}
		}
	}
	if !slices.Contains([]string{"new", "update"}, body["consultType"]) {
		badParams(w, "consultType", "The value you selected is not a valid choice.")
		return
	}
	if !slices.Contains([]string{"Stroke", "EEG Stat", "EEG Routine"}, body["reason"]) {
		badParams(w, "reason", "The value you selected is not a valid choice.")
		return
	}
	st := s.paState()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now()
	pid, known := st.patients[body["mrn"]]
	if !known {
		pid = fmt.Sprintf("00000000-0000-4000-a000-%012d", len(st.patients)+1)
		st.patients[body["mrn"]] = pid
	}
	if last, ok := st.last[pid]; ok && now.Sub(last) < 24*time.Hour {
		writeError(w, http.StatusUnprocessableEntity, "A visit has already been created for the patient within 24 hours")
		return
	}
	v := &PerfectAnswer{PatientID: pid, EncounterID: fmt.Sprintf("00000000-0000-4000-b000-%012d", len(st.visits)+1), Body: body, Created: now}
	for k := range doc {
		if !slices.Contains(paFields, k) {
			v.Unknown = append(v.Unknown, k)
		}
	}
	slices.Sort(v.Unknown)
	st.visits = append(st.visits, v)
	st.last[pid] = now
	writeJSON(w, http.StatusOK, map[string]string{"patientId": v.PatientID, "encounterId": v.EncounterID})
}
