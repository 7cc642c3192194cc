package solosim

// Patient documents. The spec says all fields are required: a missing or
// empty name, a dateTime that is not a whole number, or responses that are
// not a list of {question, response} strings answer 400 "Bad parameters";
// an unknown patient 404; success 200 [].

import "net/http"

// PatientDocument is a stored patient document (for test assertions only).
type PatientDocument struct {
	PatientID string
	Name      string
	DateTime  int64
	Responses [][2]string // question, response
}

type documentState struct{ list []PatientDocument }

func init() {
	registerArea(func(s *Sim) {
		s.mux.HandleFunc("POST /qapi/v1/patients/{id}/documents", s.withPatient(s.docAdd))
	})
}

func (s *Sim) docState() *documentState {
	return s.area("documents", func() any { return &documentState{} }).(*documentState)
}

// PatientDocuments returns copies of the stored documents in order.
func (s *Sim) PatientDocuments() []PatientDocument {
	st := s.docState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PatientDocument, len(st.list))
	for i, d := range st.list {
		out[i] = d
		out[i].Responses = append([][2]string(nil), d.Responses...)
	}
	return out
}

func (s *Sim) docAdd(w http.ResponseWriter, r *http.Request, p *Patient) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	d := PatientDocument{PatientID: p.ID}
	d.Name, _ = doc["name"].(string)
	if d.Name == "" {
		badParams(w, "name", "This value should not be blank.")
		return
	}
	n, ok := integer(doc["dateTime"])
	if !ok {
		badParams(w, "dateTime", "This value should be a timestamp.")
		return
	}
	d.DateTime = n
	list, ok := doc["responses"].([]any)
	if !ok {
		badParams(w, "responses", "This value should be a list.")
		return
	}
	for _, it := range list {
		m, _ := it.(map[string]any)
		q, qok := m["question"].(string)
		a, aok := m["response"].(string)
		if !qok || !aok || q == "" {
			badParams(w, "responses", "Each item needs a question and a response.")
			return
		}
		d.Responses = append(d.Responses, [2]string{q, a})
	}
	st := s.docState()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.list = append(st.list, d)
	writeJSON(w, http.StatusOK, []any{})
}
