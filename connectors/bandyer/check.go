package bandyer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// ProbeRoom is the roomId the connection test asks for: a room that need
// not exist (the spec's 404 "Room … not found on CRUD" proves the backend
// answered past its authentication).
const ProbeRoom = "fhirbridge-connection-test"

// Check is Probe without the description (connectors.Checker).
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.Probe(ctx)
	return err
}

// Probe makes the cheapest call the spec allows that changes nothing —
// GET /teleconsultation/ProbeRoom as no participant — and reads 2xx or the
// spec's 404 as success. A failure reads "HTTP 401: the backend refused
// the service credentials (api_key)", another status with its meaning, or
// "cannot reach the backend: <cause>".
func (c *Connector) Probe(ctx context.Context) (string, error) {
	status, _, err := c.c.do(ctx, request{method: http.MethodGet, tmpl: PathRoom, room: ProbeRoom, mayRepeat: true})
	if err == nil || errors.Is(err, ErrRoomNotFound) {
		return fmt.Sprintf("GET %s: HTTP %d, the backend answered", PathRoom, status), nil
	}
	var se *StatusError
	if errors.As(err, &se) {
		return "", fmt.Errorf("HTTP %d: %w", se.Status, se.Reason)
	}
	cause := err
	var f *connectors.Failure
	if errors.As(err, &f) {
		cause = f.Err
	}
	return "", fmt.Errorf("cannot reach the backend: %w", cause)
}

// people matches a reference to a participant that is a person.
var people = regexp.MustCompile(`(^|/)(Patient|Practitioner|PractitionerRole|RelatedPerson)/[^/]+$`)

// IntakeCheck returns the intake check of a route: a non-terminal
// Appointment without start or end, ending before it starts, or whose
// people participants (by reference type) hold nobody in a plus group is
// refused with an *fhir.OperationOutcome naming the element. A
// PractitionerRole's group depends on its code, which intake does not
// see: it counts as plus when "Practitioner"'s group is, and the
// connector applies the rule again with the code before sending.
func (c *Connector) IntakeCheck() func(*fhir.Value) error {
	return func(res *fhir.Value) error {
		if oo := c.s.checkAppointment(res); oo != nil {
			return oo
		}
		return nil // not a typed nil inside the error interface
	}
}

func (s *settings) checkAppointment(res *fhir.Value) *fhir.OperationOutcome {
	if res.GetString("resourceType") != "Appointment" || terminal[res.GetString("status")] {
		return nil
	}
	var oo *fhir.OperationOutcome
	var times [2]time.Time
	for i, el := range []string{"start", "end"} {
		v := res.GetString(el)
		if v == "" {
			oo = oo.Add(fhir.CodeRequired, "Appointment."+el, "a Bandyer teleconsultation needs a "+el+" (the spec's "+el+"_date is required)")
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			oo = oo.Add(fhir.CodeValue, "Appointment."+el, "not an instant with a time zone")
			continue
		}
		times[i] = t
	}
	if !times[0].IsZero() && !times[1].IsZero() && times[1].Before(times[0]) {
		oo = oo.Add(fhir.CodeValue, "Appointment.end", "the end is before the start")
	}
	n, plus := 0, false
	if ps := res.Get("participant"); ps != nil && ps.Kind == fhir.Array {
		for _, p := range ps.Items {
			ref := p.Get("actor").GetString("reference")
			if i := strings.Index(ref, "/_history/"); i >= 0 {
				ref = ref[:i]
			}
			m := people.FindStringSubmatch(ref)
			if m == nil {
				continue
			}
			n++
			typ := m[2]
			if typ == "PractitionerRole" {
				typ = "Practitioner"
			}
			plus = plus || s.plus[s.groups[typ]]
		}
	}
	if n > 0 && !plus {
		oo = oo.Add(fhir.CodeValue, "Appointment.participant",
			"no plus user in room: none of the participants is in a plus group ("+strings.Join(s.plusList(), ", ")+")")
	}
	return oo
}
