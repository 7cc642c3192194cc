package bandyersim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"time"
)

// Bounds the simulator enforces on a body (the spec names none; they keep
// a hostile body from costing more than a bounded amount).
const (
	// MaxBody is the largest request body taken; a larger one is 413.
	MaxBody = 1 << 20
	// MaxParticipants is the largest participants.number taken.
	MaxParticipants = 100
	// MaxField is the longest userExternalId, fullName, group or language.
	MaxField = 256
)

// DateLayout is the spec's date format, YYYY-MM-DDTHH:mm:ss.sssZ (UTC,
// milliseconds).
const DateLayout = "2006-01-02T15:04:05.000Z"

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// ParticipantData is one participant as a body carries it.
type ParticipantData struct {
	UserExternalID string   `json:"userExternalId"`
	Groups         []string `json:"groups,omitempty"`
	FullName       string   `json:"fullName,omitempty"`
	Language       string   `json:"language,omitempty"`
}

// Participants is the participants field: the expected number and the
// data known so far. Auth0IDs is true when the body gave the plain array
// of auth0 ids (then Number is its length and every participant is known).
type Participants struct {
	Number   int
	Data     []ParticipantData
	Auth0IDs bool
}

// Complete reports whether every expected participant is known.
func (p Participants) Complete() bool { return len(p.Data) == p.Number }

// Body is a parsed POST or PATCH /teleconsultation body; a field the body
// leaves out is nil.
type Body struct {
	Participants *Participants
	Start, End   *time.Time
}

// errBody is a validation failure: its message is the CRUD-style
// "message" of a 400 and names the field, never its value.
type errBody struct{ msg string }

func (e *errBody) Error() string { return e.msg }

func bad(format string, a ...any) error { return &errBody{msg: fmt.Sprintf(format, a...)} }

// ParseBody parses a POST (patch false: participants, start_date and
// end_date required) or PATCH (patch true: any subset) body. auth0 says
// whether the backend runs with its auth0 dependency: only then is a plain
// array of auth0 ids taken, and groups and fullName may be left to auth0.
// groups, when not nil, lists the groups a participant may be given.
func ParseBody(raw []byte, auth0, patch bool, groups []string) (Body, error) {
	var b Body
	fields, err := object(raw, "body")
	if err != nil {
		return b, err
	}
	for k := range fields {
		if k != "participants" && k != "start_date" && k != "end_date" {
			return b, bad("body must NOT have additional properties")
		}
	}
	if !patch {
		for _, k := range []string{"participants", "start_date", "end_date"} {
			if _, ok := fields[k]; !ok {
				return b, bad("body must have required property '%s'", k)
			}
		}
	}
	if v, ok := fields["participants"]; ok {
		p, err := parseParticipants(v, auth0, groups)
		if err != nil {
			return b, err
		}
		b.Participants = &p
	}
	for _, d := range []struct {
		key string
		to  **time.Time
	}{{"start_date", &b.Start}, {"end_date", &b.End}} {
		v, ok := fields[d.key]
		if !ok {
			continue
		}
		t, err := parseDate(v, d.key)
		if err != nil {
			return b, err
		}
		*d.to = &t
	}
	if b.Start != nil && b.End != nil && b.End.Before(*b.Start) {
		return b, bad("body/end_date must not be before body/start_date")
	}
	return b, nil
}

// ParseParticipantData parses the body of POST
// /teleconsultation/:roomId/participants/data.
func ParseParticipantData(raw []byte, auth0 bool, groups []string) (ParticipantData, error) {
	return parseData(raw, "body", auth0, groups)
}

// object decodes raw as one JSON object and nothing after it.
func object(raw []byte, where string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, bad("%s must be object", where)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("%s must be one JSON object", where)
	}
	return m, nil
}

func parseDate(raw json.RawMessage, key string) (time.Time, error) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return time.Time{}, bad("body/%s must be string", key)
	}
	if !dateRE.MatchString(s) {
		return time.Time{}, bad("body/%s must match format YYYY-MM-DDTHH:mm:ss.sssZ", key)
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, bad("body/%s must be a valid date", key)
	}
	return t, nil
}

func parseParticipants(raw json.RawMessage, auth0 bool, groups []string) (Participants, error) {
	var p Participants
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		if !auth0 {
			return p, bad("body/participants must be object (an array of auth0 ids needs the auth0 dependency)")
		}
		var ids []string
		if json.Unmarshal(raw, &ids) != nil {
			return p, bad("body/participants must be array of string")
		}
		if len(ids) == 0 || len(ids) > MaxParticipants {
			return p, bad("body/participants must have between 1 and %d items", MaxParticipants)
		}
		p.Auth0IDs, p.Number = true, len(ids)
		for i, id := range ids {
			if id == "" || len(id) > MaxField {
				return p, bad("body/participants/%d must be a non-empty string of at most %d bytes", i, MaxField)
			}
			p.Data = append(p.Data, ParticipantData{UserExternalID: id})
		}
		return p, unique(p.Data)
	}
	fields, err := object(raw, "body/participants")
	if err != nil {
		return p, err
	}
	for k := range fields {
		if k != "number" && k != "data" {
			return p, bad("body/participants must NOT have additional properties")
		}
	}
	num, ok := fields["number"]
	if !ok {
		return p, bad("body/participants must have required property 'number'")
	}
	if json.Unmarshal(num, &p.Number) != nil {
		return p, bad("body/participants/number must be integer")
	}
	if p.Number < 1 || p.Number > MaxParticipants {
		return p, bad("body/participants/number must be between 1 and %d", MaxParticipants)
	}
	data, ok := fields["data"]
	if !ok {
		return p, bad("body/participants must have required property 'data'")
	}
	var items []json.RawMessage
	if json.Unmarshal(data, &items) != nil || items == nil {
		return p, bad("body/participants/data must be array")
	}
	if len(items) > p.Number {
		return p, bad("body/participants/data must NOT have more items than body/participants/number")
	}
	for i, it := range items {
		d, err := parseData(it, fmt.Sprintf("body/participants/data/%d", i), auth0, groups)
		if err != nil {
			return p, err
		}
		p.Data = append(p.Data, d)
	}
	return p, unique(p.Data)
}

// unique refuses a userExternalId given twice.
func unique(data []ParticipantData) error {
	seen := map[string]bool{}
	for _, d := range data {
		if seen[d.UserExternalID] {
			return bad("body/participants must not repeat a userExternalId")
		}
		seen[d.UserExternalID] = true
	}
	return nil
}

func parseData(raw json.RawMessage, where string, auth0 bool, groups []string) (ParticipantData, error) {
	var d ParticipantData
	fields, err := object(raw, where)
	if err != nil {
		return d, err
	}
	for k, v := range fields {
		switch k {
		case "userExternalId", "fullName", "language":
			var s string
			if json.Unmarshal(v, &s) != nil {
				return d, bad("%s/%s must be string", where, k)
			}
			if len(s) > MaxField {
				return d, bad("%s/%s must NOT be longer than %d characters", where, k, MaxField)
			}
			switch k {
			case "userExternalId":
				d.UserExternalID = s
			case "fullName":
				d.FullName = s
			default:
				d.Language = s
			}
		case "groups":
			if json.Unmarshal(v, &d.Groups) != nil || d.Groups == nil {
				return d, bad("%s/groups must be array of string", where)
			}
			if len(d.Groups) == 0 || len(d.Groups) > MaxParticipants {
				return d, bad("%s/groups must have between 1 and %d items", where, MaxParticipants)
			}
			for i, g := range d.Groups {
				if g == "" || len(g) > MaxField {
					return d, bad("%s/groups/%d must be a non-empty string of at most %d bytes", where, i, MaxField)
				}
				if groups != nil && !slices.Contains(groups, g) {
					return d, bad("%s/groups/%d must be equal to one of the allowed values", where, i)
				}
			}
		default:
			return d, bad("%s must NOT have additional properties", where)
		}
	}
	if d.UserExternalID == "" {
		return d, bad("%s must have required property 'userExternalId'", where)
	}
	if !auth0 {
		if d.Groups == nil {
			return d, bad("%s must have required property 'groups'", where)
		}
		if d.FullName == "" {
			return d, bad("%s must have required property 'fullName'", where)
		}
	}
	return d, nil
}
