package solosim

// Visit notes (spec "Appointment Note": GET and PUT
// /qapi/v1/appointments/{appointment_id}/visit-note).
//
// GET answers the spec's array, one note per template attached to the
// appointment: {"id" (the template id), "template": {"name", "flow"},
// "comments": [{"id", "templateId", "message", "postedAt", "author":
// {"id", "username"}}], "responses": [{"dateTime": {"date",
// "timezone_type": 3, "timezone"}, "question": [path], "response":
// [values]}]}. PUT takes {"name", "questions": [{"id", "value": [...]}]}
// and sets the answers of the note whose template has that name.
//
// Choices where the spec is silent:
//   - notes exist only when seeded (SeedVisitNote, or SetDefaultVisitNote
//     for every appointment, as the sandbox does); an appointment without
//     one answers 404 "Visit note not found" to GET and PUT, an unknown
//     appointment 404 "Appointment not found";
//   - the template flow is {"sections": [{"name", "questions": [{"id",
//     "name"}]}]}: a question's path is [section name, question name] (the
//     spec shows "sections": [] and the same two-part path in responses);
//   - PUT: name must be a non-blank string naming one of the appointment's
//     templates, questions a non-empty array of {"id": string naming a
//     question of that template, "value": array of strings}; otherwise 400
//     in the "Bad parameters [field: reason]" shape. Answers are stamped
//     with the simulator's clock in VisitNoteZone; the answer is 200 [];
//   - only questions with an answer appear in responses.

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// VisitNoteZone is the named time zone of the response times the
// simulator answers.
const VisitNoteZone = "America/New_York"

// VisitNoteQuestion is one question of a visit-note template.
type VisitNoteQuestion struct {
	ID, Section, Name string
}

// VisitNoteComment is a comment on a visit note.
type VisitNoteComment struct {
	ID, Message, Username string
	AuthorID              int
	PostedAt              int64
}

// VisitNote is an appointment's note for one template.
type VisitNote struct {
	TemplateID, Name string
	Questions        []VisitNoteQuestion
	// Answers are the responses by question id; Answered their times.
	Answers  map[string][]string
	Answered map[string]time.Time
	Comments []VisitNoteComment
}

// VisitNoteUpdate is one accepted PUT.
type VisitNoteUpdate struct {
	SAID      int
	Name      string
	Questions map[string][]string
}

type visitNoteState struct {
	notes   map[int][]*VisitNote // SAID → notes
	updates []VisitNoteUpdate
	// def, when set, is the note of every appointment not seeded.
	def *VisitNote
}

// SampleVisitNote is the template of the spec's update example ("Acute
// Neurology - Physician Services", question 923c5621-…), unanswered; the
// sandbox gives it to every appointment.
func SampleVisitNote() VisitNote {
	return VisitNote{TemplateID: "be9180f7-b0c0-42a5-9b14-c8b67a3b4c0f", Name: "Acute Neurology - Physician Services",
		Questions: []VisitNoteQuestion{
			{ID: "923c5621-66a1-49a3-aa7b-a7753cbfd139", Section: "Patient", Name: "Sex"},
			{ID: "5b0f3c1e-2d4a-4e8b-9c6f-1a2b3c4d5e6f", Section: "Exam", Name: "NIHSS score"},
		}}
}

// SetDefaultVisitNote makes n the note of every appointment that has none
// seeded (as if the waiting room's template were attached to each).
func (s *Sim) SetDefaultVisitNote(n VisitNote) {
	st := s.vnState()
	c := cloneNote(&n)
	s.mu.Lock()
	st.def = c
	s.mu.Unlock()
}

// notesOf returns appointment said's notes, giving it the default note on
// first use; s.mu is held.
func (st *visitNoteState) notesOf(said int) []*VisitNote {
	if len(st.notes[said]) == 0 && st.def != nil {
		st.notes[said] = []*VisitNote{cloneNote(st.def)}
	}
	return st.notes[said]
}

func init() {
	registerArea(func(s *Sim) {
		m := s.mux
		m.HandleFunc("GET /qapi/v1/appointments/{id}/visit-note", s.withAppointment(s.vnGet))
		m.HandleFunc("PUT /qapi/v1/appointments/{id}/visit-note", s.withAppointment(s.vnPut))
	})
}

func (s *Sim) vnState() *visitNoteState {
	return s.area("visit-notes", func() any { return &visitNoteState{notes: map[int][]*VisitNote{}} }).(*visitNoteState)
}

// SeedVisitNote gives appointment said the note n (replacing one with the
// same template id); for tests and the sandbox.
func (s *Sim) SeedVisitNote(said int, n VisitNote) {
	st := s.vnState()
	c := cloneNote(&n)
	s.mu.Lock()
	defer s.mu.Unlock()
	list := st.notes[said]
	for i, old := range list {
		if old.TemplateID == n.TemplateID {
			list[i] = c
			return
		}
	}
	st.notes[said] = append(list, c)
}

// VisitNotes returns copies of appointment said's notes.
func (s *Sim) VisitNotes(said int) []VisitNote {
	st := s.vnState()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []VisitNote
	for _, n := range st.notes[said] {
		out = append(out, *cloneNote(n))
	}
	return out
}

// VisitNoteUpdates returns the accepted PUTs, in order.
func (s *Sim) VisitNoteUpdates() []VisitNoteUpdate {
	st := s.vnState()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(st.updates)
}

func cloneNote(n *VisitNote) *VisitNote {
	c := *n
	c.Questions = slices.Clone(n.Questions)
	c.Comments = slices.Clone(n.Comments)
	c.Answers = map[string][]string{}
	for k, v := range n.Answers {
		c.Answers[k] = slices.Clone(v)
	}
	c.Answered = map[string]time.Time{}
	for k, v := range n.Answered {
		c.Answered[k] = v
	}
	return &c
}

func (s *Sim) vnJSON(n *VisitNote, zone *time.Location) map[string]any {
	var sections []map[string]any
	index := map[string]int{}
	responses := []map[string]any{}
	for _, q := range n.Questions {
		i, ok := index[q.Section]
		if !ok {
			i = len(sections)
			index[q.Section] = i
			sections = append(sections, map[string]any{"name": q.Section, "questions": []map[string]any{}})
		}
		sections[i]["questions"] = append(sections[i]["questions"].([]map[string]any), map[string]any{"id": q.ID, "name": q.Name})
		vals, ok := n.Answers[q.ID]
		if !ok {
			continue
		}
		at := n.Answered[q.ID]
		if at.IsZero() {
			at = s.opt.Now()
		}
		responses = append(responses, map[string]any{
			"dateTime": map[string]any{"date": at.In(zone).Format("2006-01-02 15:04:05.000000"), "timezone_type": 3, "timezone": VisitNoteZone},
			"question": []string{q.Section, q.Name},
			"response": append([]string{}, vals...),
		})
	}
	if sections == nil {
		sections = []map[string]any{}
	}
	comments := []map[string]any{}
	for _, c := range n.Comments {
		comments = append(comments, map[string]any{"id": c.ID, "templateId": n.TemplateID, "message": c.Message,
			"postedAt": c.PostedAt, "author": map[string]any{"id": c.AuthorID, "username": c.Username}})
	}
	return map[string]any{"id": n.TemplateID, "template": map[string]any{"name": n.Name, "flow": map[string]any{"sections": sections}},
		"comments": comments, "responses": responses}
}

func (s *Sim) vnGet(w http.ResponseWriter, _ *http.Request, a *Appointment) {
	zone, err := time.LoadLocation(VisitNoteZone)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "time zone data missing")
		return
	}
	st := s.vnState()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := st.notesOf(a.SAID)
	if len(list) == 0 {
		writeError(w, http.StatusNotFound, "Visit note not found")
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, n := range list {
		out = append(out, s.vnJSON(n, zone))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) vnPut(w http.ResponseWriter, r *http.Request, a *Appointment) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	name, _ := doc["name"].(string)
	if name == "" {
		badParams(w, "name", "This value should not be blank.")
		return
	}
	qs, _ := doc["questions"].([]any)
	if len(qs) == 0 {
		badParams(w, "questions", "This value should be a non-empty array.")
		return
	}
	st := s.vnState()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := st.notesOf(a.SAID)
	if len(list) == 0 {
		writeError(w, http.StatusNotFound, "Visit note not found")
		return
	}
	var note *VisitNote
	for _, n := range list {
		if n.Name == name {
			note = n
		}
	}
	if note == nil {
		badParams(w, "name", "No visit note template of the appointment has this name.")
		return
	}
	set := map[string][]string{}
	for i, raw := range qs {
		q, _ := raw.(map[string]any)
		id, _ := q["id"].(string)
		if id == "" {
			badParams(w, fmt.Sprintf("questions[%d].id", i), "This value should not be blank.")
			return
		}
		if !slices.ContainsFunc(note.Questions, func(t VisitNoteQuestion) bool { return t.ID == id }) {
			badParams(w, fmt.Sprintf("questions[%d].id", i), "No question of the template has this id.")
			return
		}
		vals, isArr := q["value"].([]any)
		if !isArr {
			badParams(w, fmt.Sprintf("questions[%d].value", i), "This value should be an array.")
			return
		}
		strs := make([]string, 0, len(vals))
		for _, v := range vals {
			sv, isStr := v.(string)
			if !isStr {
				badParams(w, fmt.Sprintf("questions[%d].value", i), "This value should be an array of strings.")
				return
			}
			strs = append(strs, sv)
		}
		set[id] = strs
	}
	now := s.opt.Now()
	if note.Answers == nil {
		note.Answers = map[string][]string{}
	}
	if note.Answered == nil {
		note.Answered = map[string]time.Time{}
	}
	for id, v := range set {
		note.Answers[id] = v
		note.Answered[id] = now
	}
	st.updates = append(st.updates, VisitNoteUpdate{SAID: a.SAID, Name: name, Questions: set})
	writeJSON(w, http.StatusOK, []any{})
}
