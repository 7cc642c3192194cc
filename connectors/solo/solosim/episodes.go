package solosim

// Episodes of care and episode assignment.
//
// Choices where the spec is silent:
//   - name, type, from and status are required (400 "Bad parameters"
//     otherwise); from and to must be YYYY-MM-DD; status must be one of
//     PLANNING, WAITLIST, ACTIVE, ONHOLD, FINISHED, CANCELED (any case);
//   - episodes are answered with the status in lower case, as the spec's
//     examples show ("planning");
//   - episode ids are 00000000-0000-4000-8000-00000000000N in creation order;
//   - an unknown patient, episode or appointment answers 404; an update of an
//     episode and an assignment answer 200 [];
//   - "appointments of an episode" lists the appointments assigned to it
//     through PUT /qapi/v1/appointments/{id}/episode/assign (the core
//     simulator does not keep the episodeOfCareId of an appointment
//     create); an assignment without episodeId unassigns.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Episode is a stored episode of care.
type Episode struct {
	ID, PatientID, Name, Type, From, To, Status, Objective, ReasonIncomplete string
}

type episodeState struct {
	list     []*Episode
	assigned map[int]string // SAID → episode id
}

func init() {
	registerArea(func(s *Sim) {
		m := s.mux
		m.HandleFunc("POST /qapi/v1/patients/{id}/episodes", s.withPatient(s.epCreate))
		m.HandleFunc("GET /qapi/v1/patients/{id}/episodes", s.withPatient(s.epList))
		m.HandleFunc("GET /qapi/v1/episodes/{eid}", s.epGet)
		m.HandleFunc("PUT /qapi/v1/episodes/{eid}", s.epUpdate)
		m.HandleFunc("GET /qapi/v1/episodes/{eid}/appointments", s.epAppointments)
		m.HandleFunc("PUT /qapi/v1/appointments/{id}/episode/assign", s.withAppointment(s.epAssign))
	})
}

func (s *Sim) epState() *episodeState {
	return s.area("episodes", func() any { return &episodeState{assigned: map[int]string{}} }).(*episodeState)
}

// Episodes returns copies of the stored episodes in creation order.
func (s *Sim) Episodes() []Episode {
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Episode, len(st.list))
	for i, e := range st.list {
		out[i] = *e
	}
	return out
}

// EpisodeOfAppointment returns the id of the episode assigned to the
// appointment with SAID said ("" when none).
func (s *Sim) EpisodeOfAppointment(said int) string {
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	return st.assigned[said]
}

var episodeStatuses = []string{"PLANNING", "WAITLIST", "ACTIVE", "ONHOLD", "FINISHED", "CANCELED"}

// epApply checks doc and copies it onto e.
func epApply(w http.ResponseWriter, doc map[string]any, e *Episode) bool {
	str := func(k string) (string, bool) {
		v, present := doc[k]
		if !present || v == nil {
			return "", true
		}
		s, ok := v.(string)
		if !ok {
			badParams(w, k, "This value should be a string.")
		}
		return s, ok
	}
	fields := map[string]*string{"name": &e.Name, "type": &e.Type, "from": &e.From, "to": &e.To,
		"status": &e.Status, "objective": &e.Objective, "reasonIncomplete": &e.ReasonIncomplete}
	for _, k := range []string{"name", "type", "from", "to", "status", "objective", "reasonIncomplete"} {
		v, ok := str(k)
		if !ok {
			return false
		}
		*fields[k] = v
	}
	for _, k := range []string{"name", "type", "from", "status"} {
		if strings.TrimSpace(*fields[k]) == "" {
			badParams(w, k, "This value should not be blank.")
			return false
		}
	}
	for _, k := range []string{"from", "to"} {
		if v := *fields[k]; v != "" {
			if _, err := time.Parse("2006-01-02", v); err != nil {
				badParams(w, k, "This value should be a date YYYY-MM-DD.")
				return false
			}
		}
	}
	e.Status = strings.ToUpper(e.Status)
	if !slices.Contains(episodeStatuses, e.Status) {
		badParams(w, "status", "This value should be one of PLANNING, WAITLIST, ACTIVE, ONHOLD, FINISHED, CANCELED.")
		return false
	}
	return true
}

func (s *Sim) epCreate(w http.ResponseWriter, r *http.Request, p *Patient) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	e := &Episode{PatientID: p.ID}
	if !epApply(w, doc, e) {
		return
	}
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	e.ID = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(st.list)+1)
	st.list = append(st.list, e)
	writeJSON(w, http.StatusOK, map[string]string{"episodeId": e.ID})
}

// epJSON is an episode as Solo answers it; s.mu is held.
func (s *Sim) epJSON(e *Episode) map[string]any {
	out := map[string]any{"id": e.ID, "patientId": e.PatientID, "name": e.Name, "from": e.From, "to": e.To,
		"type": e.Type, "status": strings.ToLower(e.Status), "objective": e.Objective,
		"reasonIncomplete": e.ReasonIncomplete, "externalPatientId": e.PatientID}
	if p := s.patientByID(e.PatientID); p != nil {
		out["soloPatientId"] = p.SPID
	}
	return out
}

func (s *Sim) epList(w http.ResponseWriter, _ *http.Request, p *Patient) {
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	eps := []map[string]any{}
	for _, e := range st.list {
		if e.PatientID == p.ID {
			eps = append(eps, s.epJSON(e))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"episodes": eps})
}

// episodeByID returns the episode with id; s.mu is held.
func (st *episodeState) episodeByID(id string) *Episode {
	for _, e := range st.list {
		if e.ID == id {
			return e
		}
	}
	return nil
}

func (s *Sim) epGet(w http.ResponseWriter, r *http.Request) {
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := st.episodeByID(r.PathValue("eid"))
	if e == nil {
		writeError(w, http.StatusNotFound, "Episode not found")
		return
	}
	writeJSON(w, http.StatusOK, s.epJSON(e))
}

func (s *Sim) epUpdate(w http.ResponseWriter, r *http.Request) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := st.episodeByID(r.PathValue("eid"))
	if e == nil {
		writeError(w, http.StatusNotFound, "Episode not found")
		return
	}
	upd := Episode{ID: e.ID, PatientID: e.PatientID}
	if !epApply(w, doc, &upd) {
		return
	}
	*e = upd
	writeJSON(w, http.StatusOK, []any{})
}

func (s *Sim) epAppointments(w http.ResponseWriter, r *http.Request) {
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := st.episodeByID(r.PathValue("eid"))
	if e == nil {
		writeError(w, http.StatusNotFound, "Episode not found")
		return
	}
	appts := []map[string]any{}
	for _, a := range s.appts {
		if st.assigned[a.SAID] == e.ID {
			appts = append(appts, map[string]any{"appointmentId": a.SAID, "date": a.Date,
				"reasons": append([]string{}, a.Reasons...), "hasNotes": false, "episodeOfCareId": e.ID})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"episode": s.epJSON(e), "appointments": appts})
}

func (s *Sim) epAssign(w http.ResponseWriter, r *http.Request, a *Appointment) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	id, isStr := doc["episodeId"].(string)
	if v, present := doc["episodeId"]; present && v != nil && !isStr {
		badParams(w, "episodeId", "This value should be a string.")
		return
	}
	st := s.epState()
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		delete(st.assigned, a.SAID)
		writeJSON(w, http.StatusOK, []any{})
		return
	}
	if st.episodeByID(id) == nil {
		writeError(w, http.StatusNotFound, "Episode not found")
		return
	}
	st.assigned[a.SAID] = id
	writeJSON(w, http.StatusOK, []any{})
}
