package solo

import (
	"errors"
	"fmt"
	"time"
)

// LinkContext is the JSON context of a context-aware link, in the order
// and with the names of the spec's JSON Schema; every field is required.
type LinkContext struct {
	// User is the Solo user the link logs in.
	User string `json:"user"`
	// Type is one of LinkTypes.
	Type string `json:"type"`
	// Visit is the visit (appointment) id.
	Visit string `json:"visit"`
	// Date is the date and time of the visit as a UTC Unix timestamp.
	Date int64 `json:"date"`
	// Patient is the visit's patient.
	Patient LinkPatient `json:"patient"`
}

// LinkPatient is the patient object of a LinkContext.
type LinkPatient struct {
	ID  string `json:"id"`
	Sex string `json:"sex"` // one of LinkSexes
	// DOB is the date of birth, YYYY-MM-DD.
	DOB       string `json:"dob"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// LinkTypes and LinkSexes are the enums of the schema.
var (
	LinkTypes = []string{"patient", "medicalAssistant", "provider"}
	LinkSexes = []string{"male", "female", "other", "unknown"}
)

// Validate checks the schema's required fields, enums and the date
// format. Errors name fields, never their values.
func (c LinkContext) Validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"user", c.User}, {"type", c.Type}, {"visit", c.Visit},
		{"patient.id", c.Patient.ID}, {"patient.sex", c.Patient.Sex}, {"patient.dob", c.Patient.DOB},
		{"patient.firstName", c.Patient.FirstName}, {"patient.lastName", c.Patient.LastName},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("%s is required", f.name))
		}
	}
	if c.Date <= 0 {
		errs = append(errs, errors.New("date is required (UTC Unix timestamp of the visit)"))
	}
	if c.Type != "" && !contains(LinkTypes, c.Type) {
		errs = append(errs, errors.New("type must be patient, medicalAssistant or provider"))
	}
	if c.Patient.Sex != "" && !contains(LinkSexes, c.Patient.Sex) {
		errs = append(errs, errors.New("patient.sex must be male, female, other or unknown"))
	}
	if c.Patient.DOB != "" {
		if _, err := time.Parse(time.DateOnly, c.Patient.DOB); err != nil {
			errs = append(errs, errors.New("patient.dob must be a date YYYY-MM-DD"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("context link: %w", err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
