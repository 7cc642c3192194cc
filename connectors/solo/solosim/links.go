package solosim

// Provider, MS Teams and SAID-addressed video call links.
//
// Choices where the spec is silent: the provider link is the visit URL +
// "/provider"; the MS Teams link is
// https://teams.microsoft.com/v2/?meetingjoin=true&sim={SAID}; the MS
// Teams call without a Teams-Auth-Token header answers 401; an unknown
// appointment answers 404.

import (
	"fmt"
	"net/http"
)

func init() {
	registerArea(func(s *Sim) {
		m := s.mux
		m.HandleFunc("GET /qapi/v1/appointments/{id}/provider-link", s.withAppointment(s.linkProvider))
		m.HandleFunc("GET /qapi/v1/appointments/{id}/msteams-provider-link", s.withAppointment(s.linkTeams))
		m.HandleFunc("GET /qapi/v1/appointments/id/type/SAID/value/{said}/video-call-links", s.linkVideoBySAID)
	})
}

func (s *Sim) linkProvider(w http.ResponseWriter, _ *http.Request, a *Appointment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": a.SAID, "providerVisitUrl": a.VisitURL + "/provider"})
}

func (s *Sim) linkTeams(w http.ResponseWriter, r *http.Request, a *Appointment) {
	if r.Header.Get("Teams-Auth-Token") == "" {
		writeError(w, http.StatusUnauthorized, "Invalid or missing Teams-Auth-Token")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": a.SAID,
		"msTeamsProviderVisitUrl": fmt.Sprintf("https://teams.microsoft.com/v2/?meetingjoin=true&sim=%d", a.SAID)})
}

func (s *Sim) linkVideoBySAID(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var found *Appointment
	for _, a := range s.appts {
		if fmt.Sprint(a.SAID) == r.PathValue("said") {
			found = a
		}
	}
	s.mu.Unlock()
	if found == nil {
		writeError(w, http.StatusNotFound, "Appointment not found")
		return
	}
	s.videoLinks(w, r, found)
}
