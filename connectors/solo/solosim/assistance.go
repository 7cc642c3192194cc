package solosim

// Virtual nursing and sitting: assistance requests
// (POST, GET and DELETE /qapi/v1/request-assistance).
//
// A request is addressed by one of the spec's variants, in this order of
// precedence: deviceSerialNumber; building, floor and room (bed
// optional); department and room (bed optional); patientMrn. The address
// finds an FMS device among the simulator's devices (AssistanceDevices;
// AddAssistanceDevice adds more). Choices where the spec is silent:
//   - no complete variant answers 400 with the spec's "Missing Required
//     Parameters" message; an address no device matches answers 404 "Device
//     could not be found from the data submitted"; no current request for
//     a device (GET, DELETE) answers 404 "Service Request Error: Request
//     not found" — each as {"message": …}, the spec's error shape here;
//   - a bed in the address must match the device's; without one the first
//     device of the room matches;
//   - a device has at most one current request (not finished, not
//     cancelled); a create while one is current answers that one, so a
//     repeated create does not open a second request;
//   - DELETE cancels the current request (status "cancelled", finishedAt
//     set) and answers it with 200;
//   - request ids are 00000000-0000-4000-9000-00000000000N in creation
//     order; new requests have the spec's status "incomplete";
//   - the answer's patient is null: the simulator keeps no patient at a bed.

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Spec wording of the assistance errors.
const (
	AssistanceMissingParams  = "Service Request Error: Missing Required Parameters. Please include either Device ID, Patient ID, or a combination of Building, Floor, Room, and Bed (opt.), or Department, Room, and Bed (opt.) to proceed"
	AssistanceNoDevice       = "Device could not be found from the data submitted"
	AssistanceRequestMissing = "Service Request Error: Request not found"
)

// AssistanceDevice is an FMS device at a bed, with its care location.
type AssistanceDevice struct {
	Serial, Building, Floor, Department, Room, Bed, PatientMRN string
	// CareLocationID and CareLocationName name the device's care location.
	CareLocationID, CareLocationName string
}

// AssistanceRequest is a stored assistance request.
type AssistanceRequest struct {
	ID, Device, Status string
	CreatedAt          time.Time
	FinishedAt         time.Time // zero while open
	Cancelled          bool
}

type assistanceState struct {
	devices  []AssistanceDevice
	requests []*AssistanceRequest
}

// defaultAssistanceDevices are the devices every Sim starts with: the
// spec's example device, reachable by each variant, and a second one.
func defaultAssistanceDevices() []AssistanceDevice {
	return []AssistanceDevice{
		{Serial: "123457", Building: "hospital", Floor: "floor 2", Department: "emergency department", Room: "431", Bed: "bed 2",
			PatientMRN: "1234", CareLocationID: "296f135e-88dd-4534-8e12-1f6f7b792fe5", CareLocationName: "ICC-CL-01-02"},
		{Serial: "123458", Building: "hospital", Floor: "floor 3", Department: "intensive care", Room: "512", Bed: "bed 1",
			CareLocationID: "296f135e-88dd-4534-8e12-1f6f7b792fe6", CareLocationName: "ICC-CL-02-01"},
	}
}

func init() {
	registerArea(func(s *Sim) {
		s.mux.HandleFunc("POST /qapi/v1/request-assistance", s.assistCreate)
		s.mux.HandleFunc("GET /qapi/v1/request-assistance", s.assistCurrent)
		s.mux.HandleFunc("DELETE /qapi/v1/request-assistance", s.assistCancel)
	})
}

func (s *Sim) assistState() *assistanceState {
	return s.area("assistance", func() any { return &assistanceState{devices: defaultAssistanceDevices()} }).(*assistanceState)
}

// AddAssistanceDevice adds an FMS device requests can be addressed to.
func (s *Sim) AddAssistanceDevice(d AssistanceDevice) {
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.devices = append(st.devices, d)
}

// AssistanceRequests returns copies of the stored requests in creation order.
func (s *Sim) AssistanceRequests() []AssistanceRequest {
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AssistanceRequest, len(st.requests))
	for i, r := range st.requests {
		out[i] = *r
	}
	return out
}

// SetAssistanceStatus is the test hook for what a nurse does at Solo: it
// sets the status of request id and, when finished, its finishedAt (the
// request is then no longer current). It reports whether id exists.
func (s *Sim) SetAssistanceStatus(id, status string, finished bool) bool {
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range st.requests {
		if r.ID == id {
			r.Status = status
			if finished && r.FinishedAt.IsZero() {
				r.FinishedAt = s.opt.Now().UTC()
			}
			return true
		}
	}
	return false
}

// assistAddress reads the body and finds its device; it answers the
// documented error and returns false when there is none.
func (s *Sim) assistAddress(w http.ResponseWriter, r *http.Request) (AssistanceDevice, bool) {
	doc, ok := decode(w, r)
	if !ok {
		return AssistanceDevice{}, false
	}
	str := func(k string) string {
		v, _ := doc[k].(string)
		return strings.TrimSpace(v)
	}
	serial, mrn := str("deviceSerialNumber"), str("patientMrn")
	building, floor, dept, room, bed := str("building"), str("floor"), str("department"), str("room"), str("bed")
	var match func(d AssistanceDevice) bool
	switch {
	case serial != "":
		match = func(d AssistanceDevice) bool { return d.Serial == serial }
	case building != "" && floor != "" && room != "":
		match = func(d AssistanceDevice) bool {
			return strings.EqualFold(d.Building, building) && strings.EqualFold(d.Floor, floor) &&
				strings.EqualFold(d.Room, room) && (bed == "" || strings.EqualFold(d.Bed, bed))
		}
	case dept != "" && room != "":
		match = func(d AssistanceDevice) bool {
			return strings.EqualFold(d.Department, dept) && strings.EqualFold(d.Room, room) && (bed == "" || strings.EqualFold(d.Bed, bed))
		}
	case mrn != "":
		match = func(d AssistanceDevice) bool { return d.PatientMRN != "" && d.PatientMRN == mrn }
	default:
		assistError(w, http.StatusBadRequest, AssistanceMissingParams)
		return AssistanceDevice{}, false
	}
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range st.devices {
		if match(d) {
			return d, true
		}
	}
	assistError(w, http.StatusNotFound, AssistanceNoDevice)
	return AssistanceDevice{}, false
}

// assistError answers the {"message": …} shape of the assistance calls.
func assistError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// current returns the device's open request; s.mu is held.
func (st *assistanceState) current(serial string) *AssistanceRequest {
	for _, r := range st.requests {
		if r.Device == serial && !r.Cancelled && r.FinishedAt.IsZero() {
			return r
		}
	}
	return nil
}

func (s *Sim) assistCreate(w http.ResponseWriter, r *http.Request) {
	d, ok := s.assistAddress(w, r)
	if !ok {
		return
	}
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	req := st.current(d.Serial)
	if req == nil {
		req = &AssistanceRequest{ID: fmt.Sprintf("00000000-0000-4000-9000-%012d", len(st.requests)+1), Device: d.Serial,
			Status: "incomplete", CreatedAt: s.opt.Now().UTC()}
		st.requests = append(st.requests, req)
	}
	writeJSON(w, http.StatusOK, assistJSON(req, d))
}

func (s *Sim) assistCurrent(w http.ResponseWriter, r *http.Request) {
	d, ok := s.assistAddress(w, r)
	if !ok {
		return
	}
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	req := st.current(d.Serial)
	if req == nil {
		assistError(w, http.StatusNotFound, AssistanceRequestMissing)
		return
	}
	writeJSON(w, http.StatusOK, assistJSON(req, d))
}

func (s *Sim) assistCancel(w http.ResponseWriter, r *http.Request) {
	d, ok := s.assistAddress(w, r)
	if !ok {
		return
	}
	st := s.assistState()
	s.mu.Lock()
	defer s.mu.Unlock()
	req := st.current(d.Serial)
	if req == nil {
		assistError(w, http.StatusNotFound, AssistanceRequestMissing)
		return
	}
	req.Cancelled, req.Status, req.FinishedAt = true, "cancelled", s.opt.Now().UTC()
	writeJSON(w, http.StatusOK, assistJSON(req, d))
}

// assistJSON is a request as the spec's example answers it.
func assistJSON(r *AssistanceRequest, d AssistanceDevice) map[string]any {
	var finished any
	if !r.FinishedAt.IsZero() {
		finished = r.FinishedAt.Format(time.RFC3339)
	}
	return map[string]any{
		"id":     r.ID,
		"device": r.Device,
		"careLocation": map[string]any{
			"availability": "online", "id": d.CareLocationID, "name": d.CareLocationName, "status": "active",
			"video": map[string]any{"type": "robot", "clientId": nil, "serialNumber": d.Serial, "careLocationId": d.CareLocationID, "skipActivation": true},
		},
		"practice":               "91ce2309-4049-49a4-8bf5-793bbe1579ed",
		"patient":                nil,
		"assignedTo":             nil,
		"room":                   d.Room,
		"status":                 r.Status,
		"createdAt":              r.CreatedAt.Format(time.RFC3339),
		"finishedAt":             finished,
		"location":               map[string]any{"id": "ab25dda0-64e6-4666-8bfe-3277656a6405", "name": d.Building},
		"avSessions":             []any{},
		"createdFromExternalApi": true,
	}
}
