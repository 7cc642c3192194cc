package bandyer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// MaxRecord bounds a mapped record's JSON, in bytes.
const MaxRecord = 1 << 20

// MaxParticipants bounds the participants of one teleconsultation.
const MaxParticipants = 100

// record is what the shipped mapping bandyer/teleconsultation gives.
type record struct {
	Start        string `json:"start_date"`
	End          string `json:"end_date"`
	Status       string `json:"status"`
	Participants struct {
		Number int      `json:"number"`
		People []person `json:"people"`
	} `json:"participants"`
}

// person is one resolved participant of the record.
type person struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id"`
	Codes        []string `json:"codes"`
	Identifiers  []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifiers"`
	FullName struct {
		Given  string `json:"given"`
		Family string `json:"family"`
	} `json:"fullName"`
	Language string `json:"language"`
}

// parseRecord reads a mapped record. Errors name the member, never a value.
func parseRecord(v *fhir.Value) (record, error) {
	if v == nil {
		return record{}, fmt.Errorf("%w: no record", ErrRecord)
	}
	return decodeRecord(v.JSON())
}

// decodeRecord reads a record's JSON (at most MaxRecord bytes).
func decodeRecord(data []byte) (record, error) {
	var r record
	if len(data) > MaxRecord {
		return r, fmt.Errorf("%w: over %d bytes", ErrRecord, MaxRecord)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return record{}, fmt.Errorf("%w: %s has the wrong type", ErrRecord, te.Field)
		}
		return record{}, fmt.Errorf("%w: not a JSON object", ErrRecord)
	}
	switch {
	case r.Participants.Number < 0 || r.Participants.Number > MaxParticipants:
		return record{}, fmt.Errorf("%w: participants.number is outside 0-%d", ErrRecord, MaxParticipants)
	case len(r.Participants.People) > r.Participants.Number:
		return record{}, fmt.Errorf("%w: more participants.people than participants.number", ErrRecord)
	}
	return r, nil
}

// wireParticipant is one element of participants.data.
type wireParticipant struct {
	UserExternalID string   `json:"userExternalId"`
	Groups         []string `json:"groups,omitempty"`
	FullName       string   `json:"fullName,omitempty"`
	Language       string   `json:"language,omitempty"`
	// ref is the FHIR participant (Type/id), never sent.
	ref string
}

func (p wireParticipant) equal(q wireParticipant) bool {
	return p.UserExternalID == q.UserExternalID && strings.Join(p.Groups, "\x00") == strings.Join(q.Groups, "\x00") &&
		p.FullName == q.FullName && p.Language == q.Language
}

// wireRoom is a teleconsultation as the backend is told it.
type wireRoom struct {
	Start, End string
	Number     int
	Data       []wireParticipant
	// Auth0List: participants go as the plain array of auth0 ids (auth0
	// mode, all participants known).
	Auth0List bool
}

// complete reports whether all participants are known (the backend then
// creates the Bandyer room).
func (w wireRoom) complete() bool { return len(w.Data) == w.Number }

// participants is the participants member of a body.
func (w wireRoom) participants() any {
	if w.Auth0List {
		ids := make([]string, len(w.Data))
		for i, p := range w.Data {
			ids[i] = p.UserExternalID
		}
		return ids
	}
	data := w.Data
	if data == nil {
		data = []wireParticipant{}
	}
	return map[string]any{"number": w.Number, "data": data}
}

// body is the POST /teleconsultation body.
func (w wireRoom) body() map[string]any {
	return map[string]any{"participants": w.participants(), "start_date": w.Start, "end_date": w.End}
}

// wire applies the site's tables to a record. A person without a
// userExternalId (no identifier in identifier_system) is counted in
// number but not listed in data: the backend treats them as not yet known.
func (s *settings) wire(r record) wireRoom {
	w := wireRoom{Start: r.Start, End: r.End, Number: r.Participants.Number}
	for _, p := range r.Participants.People {
		id := p.ID
		if s.system != "" {
			id = ""
			for _, ident := range p.Identifiers {
				if ident.System == s.system && ident.Value != "" {
					id = ident.Value
					break
				}
			}
		}
		if id == "" {
			continue
		}
		wp := wireParticipant{UserExternalID: id, Language: p.Language, ref: strings.Join([]string{p.ResourceType, p.ID}, "/")} // a FHIR reference, not a URL path
		if wp.Language == "" {
			wp.Language = s.language
		}
		if !s.auth0 {
			if g := s.groupOf(p.ResourceType, p.Codes); g != "" {
				wp.Groups = []string{g}
			}
			wp.FullName = strings.TrimSpace(p.FullName.Given + " " + p.FullName.Family)
		}
		w.Data = append(w.Data, wp)
	}
	w.Auth0List = s.auth0 && w.complete() && w.Number > 0
	return w
}

// plusRule refuses a room whose participants are all known and none of
// which is in a plus group: the backend's "no plus user in room".
func (s *settings) plusRule(w wireRoom) error {
	if !w.complete() {
		return nil
	}
	for _, p := range w.Data {
		g := p.Groups
		if s.auth0 { // groups are not sent in auth0 mode; the table still says who is plus
			g = nil
		}
		for _, x := range g {
			if s.plus[x] {
				return nil
			}
		}
		if s.auth0 {
			typ, _, _ := strings.Cut(p.ref, "/")
			if s.plus[s.groups[typ]] || typ == "PractitionerRole" && s.plus[s.groups["Practitioner"]] {
				return nil
			}
		}
	}
	return permanentf("%w: no participant is in a plus group (%s)", ErrNoPlusUser, strings.Join(s.plusList(), ", "))
}

// plusList lists the plus groups, sorted.
func (s *settings) plusList() []string {
	out := make([]string, 0, len(s.plus))
	for g := range s.plus {
		out = append(out, g)
	}
	sortStrings(out)
	return out
}

// Link is what GET /teleconsultation/:roomId answers one participant.
type Link struct {
	BandyerUserID string `json:"bandyerUserId"`
	AccessLinkURL string `json:"accessLinkURL"`
}

// Link asks the backend, as the participant userExternalID, for their
// access link to room roomID. 401 is ErrUnauthorizedUser and 404
// ErrRoomNotFound, in the spec's words.
func (c *Connector) Link(ctx context.Context, roomID, userExternalID string) (Link, error) {
	_, data, err := c.c.do(ctx, request{method: http.MethodGet, tmpl: PathRoom, room: roomID, as: userExternalID, mayRepeat: true})
	if err != nil {
		return Link{}, fmt.Errorf("getting a participant's access link: %w", err)
	}
	var l Link
	if err := json.Unmarshal(data, &l); err != nil || l.AccessLinkURL == "" {
		return Link{}, permanentf("getting a participant's access link: the answer has no accessLinkURL")
	}
	return l, nil
}

// links asks for every known participant's access link once the room is
// complete, as Result attributes: "<Type>/<id>:accessLinkURL" and
// "<Type>/<id>:bandyerUserId", or "<Type>/<id>:linkError" with the reason
// (the spec's words for 401 and 404). A failure here never fails the
// delivery: the room exists and its roomId must be kept.
func (c *Connector) links(ctx context.Context, roomID string, w wireRoom) map[string]string {
	if !w.complete() || w.Number == 0 {
		return nil
	}
	out := map[string]string{}
	for _, p := range w.Data {
		l, err := c.Link(ctx, roomID, p.UserExternalID)
		if err != nil {
			reason := "the backend could not be asked"
			var se *StatusError
			if errors.As(err, &se) {
				reason = fmt.Sprintf("HTTP %d: %v", se.Status, se.Reason)
			}
			out[p.ref+":linkError"] = reason
			c.log.Load().WarnContext(ctx, "bandyer access link", "participant", p.ref, "reason", reason)
			continue
		}
		out[p.ref+":accessLinkURL"] = l.AccessLinkURL
		if l.BandyerUserID != "" {
			out[p.ref+":bandyerUserId"] = l.BandyerUserID
		}
	}
	return out
}
