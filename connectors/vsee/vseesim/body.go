package vseesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds the simulator enforces on a body (the spec names none).
const (
	// MaxBody is the largest request body taken; a larger one is 413.
	MaxBody = 1 << 20
	// MaxField is the longest string field taken.
	MaxField = 256
)

// errBody is a validation failure: its message names the field, never its
// value.
type errBody struct{ msg string }

func (e *errBody) Error() string { return e.msg }

func bad(format string, a ...any) error { return &errBody{msg: fmt.Sprintf(format, a...)} }

// SSOBody is a parsed POST /users/sso body.
type SSOBody struct {
	// ExternalID is what the user is found by: code, else external_id,
	// else email.
	ExternalID string
	FirstName  string
	LastName   string
	Email      string
	DOB        string
}

// ParseSSOBody parses a POST /users/sso body: one JSON object whose string
// fields "code" (the site's external id of the patient), "external_id" (an
// alias of code), "email", "first_name", "last_name" and "dob" are taken,
// each at most MaxField bytes; other fields are ignored. One of code,
// external_id or email is required.
func ParseSSOBody(raw []byte) (SSOBody, error) {
	var b SSOBody
	fields, err := object(raw)
	if err != nil {
		return b, err
	}
	var code, ext string
	for _, f := range []struct {
		key string
		to  *string
	}{{"code", &code}, {"external_id", &ext}, {"email", &b.Email}, {"first_name", &b.FirstName}, {"last_name", &b.LastName}, {"dob", &b.DOB}} {
		if *f.to, err = str(fields, f.key); err != nil {
			return b, err
		}
	}
	switch {
	case code != "":
		b.ExternalID = code
	case ext != "":
		b.ExternalID = ext
	case b.Email != "":
		b.ExternalID = b.Email
	default:
		return b, bad("body must have one of 'code', 'external_id' or 'email'")
	}
	return b, nil
}

// VisitBody is a parsed body of POST /visits, /visits/add_walkin or
// /add_econsult.
type VisitBody struct {
	IntakeID   string
	ProviderID string
	RoomCode   string
	// Start is zero when the body has none.
	Start time.Time
}

// ParseVisitBody parses a visit body: one JSON object with "intake_id"
// (string, required), "provider_id" and "room_code" (strings, optional)
// and "start" (optional; seconds since the epoch as a number or a string
// of digits, or an RFC 3339 string). scheduled makes start required.
// Other fields are ignored.
func ParseVisitBody(raw []byte, scheduled bool) (VisitBody, error) {
	var b VisitBody
	fields, err := object(raw)
	if err != nil {
		return b, err
	}
	if b.IntakeID, err = str(fields, "intake_id"); err != nil {
		return b, err
	}
	if b.IntakeID == "" {
		return b, bad("body must have required property 'intake_id'")
	}
	if b.ProviderID, err = str(fields, "provider_id"); err != nil {
		return b, err
	}
	if b.RoomCode, err = str(fields, "room_code"); err != nil {
		return b, err
	}
	if v, ok := fields["start"]; ok {
		if b.Start, err = parseStart(v); err != nil {
			return b, err
		}
	}
	if scheduled && b.Start.IsZero() {
		return b, bad("body must have required property 'start'")
	}
	return b, nil
}

// maxUnix bounds a start (year 36812): no time.Time arithmetic overflows.
const maxUnix = 1 << 40

// parseStart takes unix seconds (number or digit string) or RFC 3339.
func parseStart(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return time.Time{}, bad("body/start must be unix seconds or an RFC 3339 time")
	}
	switch x := v.(type) {
	case json.Number:
		n = x
	case string:
		if t, err := time.Parse(time.RFC3339, x); err == nil {
			if t.Unix() <= 0 || t.Unix() > maxUnix {
				return time.Time{}, bad("body/start must be a positive time in range")
			}
			return t.UTC(), nil
		}
		n = json.Number(x)
	default:
		return time.Time{}, bad("body/start must be unix seconds or an RFC 3339 time")
	}
	sec, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > maxUnix {
			return time.Time{}, bad("body/start must be unix seconds or an RFC 3339 time")
		}
		sec = int64(f)
	}
	if sec <= 0 || sec > maxUnix {
		return time.Time{}, bad("body/start must be a positive time in range")
	}
	return time.Unix(sec, 0).UTC(), nil
}

// object decodes raw as one JSON object and nothing after it; an empty
// body is the empty object.
func object(raw []byte) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, bad("body must be a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("body must be one JSON object")
	}
	return m, nil
}

// str reads fields[key] as a string of at most MaxField bytes; absent or
// null is "".
func str(fields map[string]json.RawMessage, key string) (string, error) {
	v, ok := fields[key]
	if !ok || string(bytes.TrimSpace(v)) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		// A number is taken as its decimal text (ids often are numbers).
		var n json.Number
		if json.Unmarshal(v, &n) != nil {
			return "", bad("body/%s must be string", key)
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if len(s) > MaxField {
		return "", bad("body/%s must NOT be longer than %d characters", key, MaxField)
	}
	return s, nil
}
