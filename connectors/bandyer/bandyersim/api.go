package bandyersim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// The spec's error texts ("error" of the body), word for word where the
// spec gives them.
const (
	MsgUnauthorizedUser = "Unauthorized user"
	MsgNoPlusPost       = "Failed POST /teleconsultation: no plus user in room"
	MsgNoPlusPatch      = "Failed PATCH /teleconsultation: no plus user in room"
	// MsgImmutablePatch is the simulator's own (the spec gives no body).
	MsgImmutablePatch = "Failed PATCH /teleconsultation: room is immutable"
)

// MsgNotFound is the spec's 404 text for roomId.
func MsgNotFound(roomID string) string {
	return "Room with id " + roomID + " not found on CRUD"
}

// MsgNoPlusData is the spec's 400 text for adding the last participant of
// roomId when none is a plus user.
func MsgNoPlusData(roomID string) string {
	return "Failed POST /teleconsultation/" + roomID + "/participants/data: no plus user in room"
}

// MsgImmutableData is the simulator's 400 text for adding a participant
// to roomId inside the immutable period (the spec gives no body).
func MsgImmutableData(roomID string) string {
	return "Failed POST /teleconsultation/" + roomID + "/participants/data: room is immutable"
}

// specError writes one of the spec's bodies: {"error": msg}.
func specError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// crudError writes the CRUD service's error interface.
func crudError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeFault answers an injected Status fault with the CRUD interface.
func writeFault(w http.ResponseWriter, f Fault) {
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	crudError(w, f.Status, msg)
}

// authorized reports whether r carries the service's API key.
func (s *Sim) authorized(r *http.Request) bool {
	key := r.Header.Get(s.opt.APIKeyHeader)
	if h := r.Header.Get("Authorization"); key == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		key = strings.TrimSpace(h[7:])
	}
	return key != "" && subtle.ConstantTimeCompare([]byte(key), []byte(s.opt.APIKey)) == 1
}

// serve authenticates and routes one request (faults already applied).
func (s *Sim) serve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		crudError(w, http.StatusUnauthorized, "missing or invalid service credentials")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		crudError(w, http.StatusBadRequest, "the request body could not be read")
		return
	}
	if len(body) > MaxBody {
		crudError(w, http.StatusRequestEntityTooLarge, "Request body is too large")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/teleconsultation")
	seg := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case !ok:
	case rest == "" && r.Method == http.MethodPost:
		s.create(w, body)
		return
	case len(seg) == 1 && seg[0] != "":
		switch r.Method {
		case http.MethodGet:
			s.get(w, r, seg[0])
			return
		case http.MethodPatch:
			s.patch(w, seg[0], body)
			return
		case http.MethodDelete:
			s.delete(w, seg[0])
			return
		}
	case len(seg) == 3 && seg[0] != "" && seg[1] == "participants" && seg[2] == "data" && r.Method == http.MethodPost:
		s.addParticipant(w, seg[0], body)
		return
	}
	crudError(w, http.StatusNotFound, "Route "+r.Method+":"+r.URL.Path+" not found")
}

// validation answers a body error: the CRUD 400 with its message.
func validation(w http.ResponseWriter, err error) {
	var e *errBody
	if errors.As(err, &e) {
		crudError(w, http.StatusBadRequest, e.msg)
		return
	}
	crudError(w, http.StatusBadRequest, "body is invalid")
}

// resolve fills the groups and full name auth0 knows for data that left
// them out (auth0 mode only).
func (s *Sim) resolve(d ParticipantData) ParticipantData {
	if !s.opt.Auth0 {
		return d
	}
	u := s.opt.Auth0Users[d.UserExternalID]
	if d.Groups == nil {
		d.Groups = slices.Clone(u.Groups)
	}
	if d.FullName == "" {
		d.FullName = u.FullName
	}
	return d
}

// hasPlus reports whether one of data is in a plus group.
func (s *Sim) hasPlus(data []ParticipantData) bool {
	for _, d := range data {
		for _, g := range s.resolve(d).Groups {
			if slices.Contains(s.opt.PlusGroups, g) {
				return true
			}
		}
	}
	return false
}

// immutable reports whether room refuses changes now. Call with s.mu held.
func (s *Sim) immutable(room *Room) bool {
	if s.opt.ImmutablePeriod < 0 || len(room.Participants) < room.Number {
		return false
	}
	return !s.opt.Now().Before(room.Start.Add(-s.opt.ImmutablePeriod))
}

// live returns the room id names unless it is unknown or trashed. Call
// with s.mu held.
func (s *Sim) live(id string) *Room {
	room, ok := s.rooms[id]
	if !ok || room.State != StatePublic {
		return nil
	}
	return room
}

// participant turns data into a held participant, translating the
// external id into a Bandyer user (made on first sight). Call with s.mu
// held.
func (s *Sim) participant(d ParticipantData) Participant {
	d = s.resolve(d)
	bu, ok := s.users[d.UserExternalID]
	if !ok {
		bu = fmt.Sprintf("user_%06d", len(s.users)+1)
		s.users[d.UserExternalID] = bu
	}
	return Participant{UserExternalID: d.UserExternalID, BandyerUserID: bu, Groups: d.Groups, FullName: d.FullName, Language: d.Language}
}

// openBandyerRoom creates room's Bandyer room when every participant is
// known, giving each participant a link. Call with s.mu held.
func (s *Sim) openBandyerRoom(room *Room) {
	if len(room.Participants) < room.Number || room.BandyerRoomID != "" {
		return
	}
	s.seqBRoom++
	room.BandyerRoomID = fmt.Sprintf("room_%06d", s.seqBRoom)
	for i := range room.Participants {
		p := &room.Participants[i]
		sum := sha256.Sum256([]byte(room.BandyerRoomID + "\x00" + p.BandyerUserID))
		p.AccessLinkURL = s.opt.LinkBase + hex.EncodeToString(sum[:10])
	}
}

// closeBandyerRoom deletes room's Bandyer room, if any. Call with s.mu
// held.
func closeBandyerRoom(room *Room) {
	if room.BandyerRoomID == "" {
		return
	}
	room.PastBandyerRoomIDs = append(room.PastBandyerRoomIDs, room.BandyerRoomID)
	room.BandyerRoomID = ""
	for i := range room.Participants {
		room.Participants[i].AccessLinkURL = ""
	}
}

// create is POST /teleconsultation.
func (s *Sim) create(w http.ResponseWriter, raw []byte) {
	b, err := ParseBody(raw, s.opt.Auth0, false, s.opt.Groups)
	if err != nil {
		validation(w, err)
		return
	}
	if b.Participants.Complete() && !s.hasPlus(b.Participants.Data) {
		specError(w, http.StatusBadRequest, MsgNoPlusPost)
		return
	}
	s.mu.Lock()
	s.seqRoom++
	room := &Room{ID: fmt.Sprintf("%024x", s.seqRoom), State: StatePublic, Number: b.Participants.Number, Start: *b.Start, End: *b.End}
	for _, d := range b.Participants.Data {
		room.Participants = append(room.Participants, s.participant(d))
	}
	s.openBandyerRoom(room)
	s.rooms[room.ID] = room
	s.order = append(s.order, room.ID)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"roomId": room.ID})
}

// patch is PATCH /teleconsultation/:roomId.
func (s *Sim) patch(w http.ResponseWriter, id string, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.live(id)
	if room == nil {
		specError(w, http.StatusNotFound, MsgNotFound(id))
		return
	}
	b, err := ParseBody(raw, s.opt.Auth0, true, s.opt.Groups)
	if err != nil {
		validation(w, err)
		return
	}
	if s.immutable(room) {
		specError(w, http.StatusBadRequest, MsgImmutablePatch)
		return
	}
	start, end := room.Start, room.End
	if b.Start != nil {
		start = *b.Start
	}
	if b.End != nil {
		end = *b.End
	}
	if end.Before(start) {
		crudError(w, http.StatusBadRequest, "body/end_date must not be before body/start_date")
		return
	}
	number, data := room.Number, dataOf(room.Participants)
	if b.Participants != nil {
		number, data = b.Participants.Number, b.Participants.Data
	}
	if len(data) == number && !s.hasPlus(data) {
		specError(w, http.StatusBadRequest, MsgNoPlusPatch)
		return
	}
	changed := !start.Equal(room.Start) || !end.Equal(room.End) || number != room.Number
	var parts []Participant
	for _, d := range data {
		parts = append(parts, s.participant(d))
	}
	if !samePeople(parts, room.Participants) {
		changed = true
	}
	if changed {
		closeBandyerRoom(room)
		room.Start, room.End, room.Number, room.Participants = start, end, number, parts
		s.openBandyerRoom(room)
	}
	w.WriteHeader(http.StatusNoContent)
}

// dataOf turns held participants back into body data.
func dataOf(ps []Participant) []ParticipantData {
	out := make([]ParticipantData, len(ps))
	for i, p := range ps {
		out[i] = ParticipantData{UserExternalID: p.UserExternalID, Groups: p.Groups, FullName: p.FullName, Language: p.Language}
	}
	return out
}

// samePeople reports whether a and b hold the same participants (links
// aside).
func samePeople(a, b []Participant) bool {
	return slices.EqualFunc(a, b, func(x, y Participant) bool {
		return x.UserExternalID == y.UserExternalID && x.FullName == y.FullName &&
			x.Language == y.Language && slices.Equal(x.Groups, y.Groups)
	})
}

// addParticipant is POST /teleconsultation/:roomId/participants/data.
func (s *Sim) addParticipant(w http.ResponseWriter, id string, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.live(id)
	if room == nil {
		specError(w, http.StatusNotFound, MsgNotFound(id))
		return
	}
	d, err := ParseParticipantData(raw, s.opt.Auth0, s.opt.Groups)
	if err != nil {
		validation(w, err)
		return
	}
	if s.immutable(room) {
		specError(w, http.StatusBadRequest, MsgImmutableData(id))
		return
	}
	if len(room.Participants) >= room.Number {
		crudError(w, http.StatusBadRequest, "participants/data already holds participants/number participants")
		return
	}
	for _, p := range room.Participants {
		if p.UserExternalID == d.UserExternalID {
			crudError(w, http.StatusBadRequest, "body/userExternalId is already a participant")
			return
		}
	}
	data := append(dataOf(room.Participants), d)
	if len(data) == room.Number && !s.hasPlus(data) {
		specError(w, http.StatusBadRequest, MsgNoPlusData(id))
		return
	}
	room.Participants = append(room.Participants, s.participant(d))
	s.openBandyerRoom(room)
	w.WriteHeader(http.StatusCreated)
}

// delete is DELETE /teleconsultation/:roomId.
func (s *Sim) delete(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.live(id)
	if room == nil {
		specError(w, http.StatusNotFound, MsgNotFound(id))
		return
	}
	closeBandyerRoom(room)
	room.State = StateTrash
	w.WriteHeader(http.StatusNoContent)
}

// Link is the body of a GET /teleconsultation/:roomId answer.
type Link struct {
	BandyerUserID           string       `json:"bandyerUserId"`
	AccessLinkURL           string       `json:"accessLinkURL"`
	ParticipantsBandyerCall []CallMember `json:"participantsBandyerCall"`
}

// CallMember is one entry of Link.ParticipantsBandyerCall.
type CallMember struct {
	BandyerUserID string `json:"bandyerUserId"`
	FullName      string `json:"fullName"`
}

// get is GET /teleconsultation/:roomId, asked as the user UserHeader
// names.
func (s *Sim) get(w http.ResponseWriter, r *http.Request, id string) {
	user := r.Header.Get(s.opt.UserHeader)
	s.mu.Lock()
	defer s.mu.Unlock()
	room := s.live(id)
	if room == nil {
		specError(w, http.StatusNotFound, MsgNotFound(id))
		return
	}
	i := slices.IndexFunc(room.Participants, func(p Participant) bool { return user != "" && p.UserExternalID == user })
	if i < 0 {
		specError(w, http.StatusUnauthorized, MsgUnauthorizedUser)
		return
	}
	if room.BandyerRoomID == "" {
		crudError(w, http.StatusConflict, "the Bandyer room is not created yet: participants are missing")
		return
	}
	out := Link{BandyerUserID: room.Participants[i].BandyerUserID, AccessLinkURL: room.Participants[i].AccessLinkURL}
	for _, p := range room.Participants {
		out.ParticipantsBandyerCall = append(out.ParticipantsBandyerCall, CallMember{BandyerUserID: p.BandyerUserID, FullName: p.FullName})
	}
	writeJSON(w, http.StatusOK, out)
}
