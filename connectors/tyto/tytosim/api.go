package tytosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The spec's error messages, word for word (its table).
const (
	MsgStationExists         = "Station Already Exists"
	MsgStationBadFormat      = "Invalid Format of Station Identifier [Unsupported special characters]"
	MsgStationEmpty          = "Invalid Format of Station Identifier [Empty Identifier]"
	MsgStationMissing        = "Station does not exist."
	MsgStationIDBadChars     = "Invalid Station Id format [Unsupported characters in the Identifier]"
	MsgStationIDEmpty        = "Invalid Station Id format [Empty Station Identifier]"
	MsgPairStationMissing    = "Station does not exist"
	MsgPairStationEmpty      = "Invalid Station Id format [Empty Identifier]"
	MsgClinicianEmpty        = "Clinician does not exist [Empty Identifier]"
	MsgClinicianInvalid      = "Clinician does not exist [Invalid Identifier]"
	MsgClinicianBadChars     = "Clinician Identifier format invalid [unsupported special characters]"
	MsgVisitEmpty            = "Invalid Format of Visit Identifier [Empty Identifier]"
	MsgVisitInvalid          = "Invalid Visit Identifier [Unsupported characers/exceeding max length of 140 characters]"
	MsgVisitClinicianInvalid = "Invalid Clinician Identifier/Empty Clinician Identifier"
	MsgVisitStationInvalid   = "Invalid Station Identifier/Empty Station Identifier"
	MsgVisitExists           = "Visit Already Exists" // not in the spec (see the package doc)
	Msg401                   = "Connection test failed. HTTP Status Code 401: The username and/or password are incorrect or the portal's IP address is not whitelisted on the Tyto server."
	Msg408                   = "Connection test failed. HTTP Status Code 408: The portal cannot resolve the Tyto server address or the address is unreachable."
)

// MaxVisitIdentifier is the longest visit identifier the portal takes.
const MaxVisitIdentifier = 140

// validChars reports whether s holds only the characters the simulator
// takes in an identifier: ASCII letters, digits, '-', '_', '.'.
func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serve authenticates and routes one request (faults already applied).
// Paths are split by hand, not by http.ServeMux, so that an empty
// identifier ("/stations/", "/stations//devices") reaches the rules that
// answer it instead of a redirect.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	blocked, unreachable := s.blocked, s.unreachable
	s.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != s.opt.Username || p != s.opt.Password || blocked {
		writeError(w, http.StatusUnauthorized, Msg401)
		return
	}
	if unreachable {
		writeError(w, http.StatusRequestTimeout, Msg408)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), s.opt.Prefix+"/")
	if !ok {
		writeError(w, http.StatusNotFound, "no such API")
		return
	}
	seg := strings.Split(rest, "/")
	for i := range seg {
		seg[i] = unescape(seg[i])
	}
	switch {
	case len(seg) == 1 && seg[0] == "stations" && r.Method == http.MethodPost:
		s.createStation(w, r)
	case len(seg) == 1 && seg[0] == "stations":
		writeError(w, http.StatusMethodNotAllowed, MsgStationIDEmpty)
	case len(seg) == 2 && seg[0] == "stations" && r.Method == http.MethodGet:
		s.getStation(w, seg[1])
	case len(seg) == 2 && seg[0] == "stations" && r.Method == http.MethodPost && seg[1] == "":
		s.createStation(w, r) // POST /stations/ is the collection
	case len(seg) == 3 && seg[0] == "stations" && seg[2] == "devices" && r.Method == http.MethodPost:
		s.pair(w, r, seg[1])
	case len(seg) == 2 && seg[0] == "clinicians" && r.Method == http.MethodPut:
		s.putClinician(w, r, seg[1])
	case len(seg) == 1 && seg[0] == "clinicians" && r.Method == http.MethodPut:
		writeError(w, http.StatusNotFound, MsgClinicianEmpty)
	case len(seg) == 1 && seg[0] == "visits" && r.Method == http.MethodPost:
		s.createVisit(w, r)
	default:
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func unescape(p string) string {
	out, err := url.PathUnescape(p)
	if err != nil {
		return p
	}
	return out
}

// decode reads a JSON object body; nil when it is not one.
func decode(r *http.Request) map[string]any {
	var m map[string]any
	if json.NewDecoder(r.Body).Decode(&m) != nil {
		return nil
	}
	return m
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func (s *Sim) createStation(w http.ResponseWriter, r *http.Request) {
	m := decode(r)
	if m == nil {
		writeError(w, http.StatusBadRequest, "body is not a JSON object")
		return
	}
	id := str(m, "identifier")
	switch {
	case id == "":
		writeError(w, http.StatusUnprocessableEntity, MsgStationEmpty)
		return
	case !validChars(id):
		writeError(w, http.StatusBadRequest, MsgStationBadFormat)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.stations[id]; ok {
		writeError(w, http.StatusConflict, MsgStationExists)
		return
	}
	s.stations[id] = &Station{Identifier: id, Fields: m}
	s.order = append(s.order, "station:"+id)
	writeJSON(w, http.StatusCreated, m)
}

func (s *Sim) getStation(w http.ResponseWriter, id string) {
	switch {
	case id == "":
		writeError(w, http.StatusMethodNotAllowed, MsgStationIDEmpty)
		return
	case !validChars(id):
		writeError(w, http.StatusBadRequest, MsgStationIDBadChars)
		return
	}
	s.mu.Lock()
	st, ok := s.stations[id]
	var out map[string]any
	if ok {
		out = map[string]any{}
		for k, v := range st.Fields {
			out[k] = v
		}
		out["identifier"] = id
		out["devices"] = append([]string{}, st.Devices...)
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, MsgStationMissing)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) pair(w http.ResponseWriter, r *http.Request, id string) {
	switch {
	case id == "":
		writeError(w, http.StatusInternalServerError, MsgPairStationEmpty)
		return
	case !validChars(id):
		writeError(w, http.StatusBadRequest, MsgStationIDBadChars)
		return
	}
	m := decode(r)
	dev := str(m, "identifier")
	if dev == "" {
		dev = str(m, "serialNumber")
	}
	if m == nil || dev == "" {
		writeError(w, http.StatusBadRequest, "device identifier missing")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stations[id]
	if !ok {
		writeError(w, http.StatusNotFound, MsgPairStationMissing)
		return
	}
	for _, d := range st.Devices {
		if d == dev {
			writeJSON(w, http.StatusOK, map[string]any{"station": id, "device": dev})
			return
		}
	}
	st.Devices = append(st.Devices, dev)
	s.order = append(s.order, "pair:"+id+"/"+dev)
	writeJSON(w, http.StatusCreated, map[string]any{"station": id, "device": dev})
}

func (s *Sim) putClinician(w http.ResponseWriter, r *http.Request, id string) {
	switch {
	case id == "":
		writeError(w, http.StatusNotFound, MsgClinicianEmpty)
		return
	case !validChars(id):
		writeError(w, http.StatusBadRequest, MsgClinicianBadChars)
		return
	case len(id) > MaxVisitIdentifier:
		writeError(w, http.StatusNotFound, MsgClinicianInvalid)
		return
	}
	m := decode(r)
	if m == nil {
		writeError(w, http.StatusBadRequest, "body is not a JSON object")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clinicians[id]
	status := http.StatusOK
	if !ok {
		c = &Clinician{Identifier: id}
		s.clinicians[id] = c
		s.order = append(s.order, "clinician:"+id)
		status = http.StatusCreated
	}
	c.Fields, c.Puts = m, c.Puts+1
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	out["identifier"] = id
	writeJSON(w, status, out)
}

func (s *Sim) createVisit(w http.ResponseWriter, r *http.Request) {
	m := decode(r)
	if m == nil {
		writeError(w, http.StatusBadRequest, "body is not a JSON object")
		return
	}
	id, cl, st := str(m, "identifier"), str(m, "clinicianIdentifier"), str(m, "stationIdentifier")
	switch {
	case id == "":
		writeError(w, http.StatusUnprocessableEntity, MsgVisitEmpty)
		return
	case !validChars(id) || len(id) > MaxVisitIdentifier:
		writeError(w, http.StatusBadRequest, MsgVisitInvalid)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clinicians[cl]; !ok || cl == "" {
		writeError(w, http.StatusNotFound, MsgVisitClinicianInvalid)
		return
	}
	if _, ok := s.stations[st]; !ok || st == "" {
		writeError(w, http.StatusNotFound, MsgVisitStationInvalid)
		return
	}
	for _, v := range s.visits {
		if v.Identifier == id {
			writeError(w, http.StatusConflict, MsgVisitExists)
			return
		}
	}
	v := &Visit{ID: fmt.Sprintf("V-%06d", len(s.visits)+1), Identifier: id, Clinician: cl, Station: st}
	s.visits = append(s.visits, v)
	s.order = append(s.order, "visit:"+id)
	v.Seq = len(s.order)
	writeJSON(w, http.StatusCreated, map[string]any{"id": v.ID, "identifier": id, "status": "scheduled",
		"clinicianIdentifier": cl, "stationIdentifier": st})
}
