package solosim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
)

func (s *Sim) routes() {
	m := s.mux
	m.HandleFunc("GET /qapi/v1/waiting-rooms", s.waitingRooms)
	m.HandleFunc("POST /qapi/v1/patients", s.createPatient)
	m.HandleFunc("GET /qapi/v1/patients/{id}", s.withPatient(s.getPatient))
	m.HandleFunc("PUT /qapi/v1/patients/{id}", s.withPatient(s.updatePatient))
	m.HandleFunc("POST /qapi/v1/patients/{id}/appointments", s.withPatient(s.createAppointment))
	m.HandleFunc("GET /qapi/v1/patients/id/type/SPID/value/{spid}", s.withPatient(s.getPatient))
	m.HandleFunc("PUT /qapi/v1/patients/id/type/SPID/value/{spid}", s.withPatient(s.updatePatient))
	m.HandleFunc("POST /qapi/v1/patients/id/type/SPID/value/{spid}/appointments", s.withPatient(s.createAppointment))
	m.HandleFunc("GET /qapi/v1/appointments/{id}", s.withAppointment(s.getAppointment))
	m.HandleFunc("PUT /qapi/v1/appointments/{id}", s.withAppointment(s.updateAppointment))
	m.HandleFunc("GET /qapi/v1/appointments/{id}/video-call-links", s.withAppointment(s.videoLinks))
	for _, add := range areaRoutes {
		add(s)
	}
}

// areaRoutes are the route sets of the simulator's further areas
// (episodes, webhooks, reports, ...), each registered from its own file's
// init with registerArea.
var areaRoutes []func(*Sim)

// registerArea adds a set of routes to every Sim; called from init.
func registerArea(routes func(*Sim)) { areaRoutes = append(areaRoutes, routes) }

// area returns the state of one area of s, made by mk on first use. The
// state's own fields are guarded by s.mu like the rest of the Sim.
func (s *Sim) area(name string, mk func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.areas == nil {
		s.areas = map[string]any{}
	}
	st, ok := s.areas[name]
	if !ok {
		st = mk()
		s.areas[name] = st
	}
	return st
}

func (s *Sim) waitingRooms(w http.ResponseWriter, _ *http.Request) {
	rooms := make([]map[string]string, len(s.opt.WaitingRooms))
	for i, n := range s.opt.WaitingRooms {
		rooms[i] = map[string]string{"id": fmt.Sprintf("room-%d", i+1), "name": n, "serviceLine": "Demo", "serviceType": "Demo"}
	}
	writeJSON(w, http.StatusOK, rooms)
}

func (s *Sim) createPatient(w http.ResponseWriter, r *http.Request) {
	doc, ok := decode(w, r)
	if !ok || !checkDeceased(w, doc) || !checkActive(w, doc) {
		return
	}
	id, _ := doc["id"].(string)
	if id == "" {
		badParams(w, "id", "This value should not be blank.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opt.RejectDuplicates && s.patientByID(id) != nil {
		writeError(w, http.StatusUnprocessableEntity, "A patient with this id already exists")
		return
	}
	p := &Patient{SPID: s.nextSPID, ID: id, Doc: doc}
	s.nextSPID++
	s.patients = append(s.patients, p)
	writeJSON(w, http.StatusOK, p.SPID)
}

func (s *Sim) getPatient(w http.ResponseWriter, _ *http.Request, p *Patient) {
	s.mu.Lock()
	doc := p.Doc // replaced, never mutated, by updates
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, doc)
}

// updatePatient merges the fields given into the patient (the spec: "All
// other fields are optional"); active false deactivates it, and the
// change from active to inactive sends patient:deactivated.
func (s *Sim) updatePatient(w http.ResponseWriter, r *http.Request, p *Patient) {
	doc, ok := decode(w, r)
	if !ok || !checkDeceased(w, doc) || !checkActive(w, doc) {
		return
	}
	delete(doc, "id")
	s.mu.Lock()
	before := p.Active()
	merged := maps.Clone(p.Doc)
	maps.Copy(merged, doc)
	p.Doc = merged
	deactivated, spid := before && !p.Active(), p.SPID
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, []any{})
	if deactivated {
		s.DeliverEvent("patient:deactivated", map[string]any{"patientId": spid})
	}
}

func (s *Sim) createAppointment(w http.ResponseWriter, r *http.Request, p *Patient) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	room, _ := doc["waitingRoom"].(string)
	if room == "" {
		badParams(w, "waitingRoom", "This value should not be blank.")
		return
	}
	if !slices.Contains(s.opt.WaitingRooms, room) {
		writeError(w, http.StatusUnprocessableEntity, "Waiting room not found")
		return
	}
	a := &Appointment{PatientID: p.ID, WaitingRoom: room, Status: "scheduled"}
	if !applyAppointment(w, doc, a) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opt.RejectDuplicates && a.ExternalID != "" && s.appointmentBy(a.ExternalID) != nil {
		writeError(w, http.StatusUnprocessableEntity, "An appointment with this externalId already exists")
		return
	}
	a.SAID = s.nextSAID
	s.nextSAID++
	a.VisitURL = fmt.Sprintf("https://solo.sim/visit/%d", a.SAID)
	s.appts = append(s.appts, a)
	writeJSON(w, http.StatusOK, map[string]any{"id": a.SAID, "visitUrl": a.VisitURL})
}

func (s *Sim) getAppointment(w http.ResponseWriter, _ *http.Request, a *Appointment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": a.SAID, "date": a.Date, "duration": a.Duration, "reasons": a.Reasons,
		"status": a.Status, "externalId": a.ExternalID, "patient": map[string]any{"id": a.PatientID},
		"videoCall": s.videoCallOf(a.SAID),
	})
}

func (s *Sim) updateAppointment(w http.ResponseWriter, r *http.Request, a *Appointment) {
	doc, ok := decode(w, r)
	if !ok {
		return
	}
	if st, present := doc["status"]; present && st != "cancelled" {
		badParams(w, "status", "Only cancelled is allowed.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	upd := *a
	if !applyAppointment(w, doc, &upd) {
		return
	}
	if doc["status"] == "cancelled" {
		upd.Status = "cancelled"
	}
	*a = upd
	writeJSON(w, http.StatusOK, map[string]any{"id": a.SAID, "visitUrl": a.VisitURL})
}

func (s *Sim) videoLinks(w http.ResponseWriter, _ *http.Request, a *Appointment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"appointmentExternalId": a.ExternalID,
		"providerVisitUrl":      a.VisitURL + "/provider",
		"patientVisitUrl":       a.VisitURL,
	})
}

// withPatient resolves {id} (caller's id) or {spid} to a stored patient.
func (s *Sim) withPatient(h func(http.ResponseWriter, *http.Request, *Patient)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		var p *Patient
		if spid := r.PathValue("spid"); spid != "" {
			for _, q := range s.patients {
				if strconv.Itoa(q.SPID) == spid {
					p = q
					break
				}
			}
		} else {
			p = s.patientByID(r.PathValue("id"))
		}
		s.mu.Unlock()
		if p == nil {
			writeError(w, http.StatusNotFound, "Patient not found")
			return
		}
		h(w, r, p)
	}
}

// withAppointment resolves {id}, a SAID or an externalId.
func (s *Sim) withAppointment(h func(http.ResponseWriter, *http.Request, *Appointment)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a := s.appointmentBy(r.PathValue("id"))
		s.mu.Unlock()
		if a == nil {
			writeError(w, http.StatusNotFound, "Appointment not found")
			return
		}
		h(w, r, a)
	}
}

// patientByID returns the first patient created with id; s.mu is held.
func (s *Sim) patientByID(id string) *Patient {
	for _, p := range s.patients {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// appointmentBy finds by SAID, else by externalId; s.mu is held.
func (s *Sim) appointmentBy(key string) *Appointment {
	for _, a := range s.appts {
		if strconv.Itoa(a.SAID) == key {
			return a
		}
	}
	for _, a := range s.appts {
		if a.ExternalID != "" && a.ExternalID == key {
			return a
		}
	}
	return nil
}
