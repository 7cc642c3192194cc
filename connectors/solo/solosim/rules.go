package solosim

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
)

// decode reads a JSON object body, answering 400 when it is not one.
func decode(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var doc map[string]any
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil || doc == nil {
		writeError(w, http.StatusBadRequest, "Bad parameters [body: This value should be a JSON object.]")
		return nil, false
	}
	return doc, true
}

// checkDeceased enforces "deceasedAt is required if deceased is true" and
// "when deceased is false or not defined and deceasedAt is specified, an
// error should be received".
func checkDeceased(w http.ResponseWriter, doc map[string]any) bool {
	deceased := doc["deceased"] == true
	at, present := doc["deceasedAt"]
	s, _ := at.(string)
	switch {
	case deceased && strings.TrimSpace(s) == "":
		badParams(w, "deceasedAt", "This value is required when deceased is true.")
		return false
	case !deceased && present && at != nil:
		badParams(w, "deceasedAt", "This value should be blank when deceased is not true.")
		return false
	}
	return true
}

// checkActive enforces the type of "active": a boolean when present (the
// spec's bodies show "active": true; false deactivates the patient).
func checkActive(w http.ResponseWriter, doc map[string]any) bool {
	if v, present := doc["active"]; present {
		if _, ok := v.(bool); !ok {
			badParams(w, "active", "This value should be a boolean.")
			return false
		}
	}
	return true
}

// applyAppointment checks and copies the appointment fields of doc to a.
func applyAppointment(w http.ResponseWriter, doc map[string]any, a *Appointment) bool {
	if v, ok := doc["date"]; ok {
		n, ok := integer(v)
		if !ok {
			badParams(w, "date", "This value should be a timestamp.")
			return false
		}
		a.Date = n
	}
	if v, ok := doc["duration"]; ok {
		n, ok := integer(v)
		if !ok || n < 1 || n > 86400 {
			badParams(w, "duration", "This value should be between 1 and 86400.")
			return false
		}
		a.Duration = int(n)
	}
	if v, ok := doc["reasons"]; ok {
		list, ok := v.([]any)
		if !ok {
			badParams(w, "reasons", "This value should be a list of strings.")
			return false
		}
		a.Reasons = a.Reasons[:0:0]
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				badParams(w, "reasons", "This value should be a list of strings.")
				return false
			}
			a.Reasons = append(a.Reasons, s)
		}
	}
	if v, ok := doc["externalId"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			badParams(w, "externalId", "This value should be a string.")
			return false
		}
		a.ExternalID = s
	}
	return true
}

// integer reads a JSON number that is a whole number.
func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// badParams answers 400 in the spec's "Bad parameters [field: reason]"
// shape; reason is the simulator's own words, never a submitted value.
func badParams(w http.ResponseWriter, field, reason string) {
	writeError(w, http.StatusBadRequest, "Bad parameters ["+field+": "+reason+"]")
}

// writeError answers Solo's error body.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
