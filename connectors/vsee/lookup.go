package vsee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// VisitSystem is the identifier system a visit id is written back in.
const VisitSystem = "urn:fhirbridge:vsee:" + IDName

// errFound stops a store walk once the visit is found.
var errFound = errors.New("found")

// StoreLookup reads the link endpoint's facts from st: the SSO body last
// delivered for the Patient (the message log, so a site's vsee/user
// mapping applies), else one built from the stored Patient (UserOf); and
// whether a stored Appointment or ServiceRequest of the patient carries
// the visit id (a walk over the current resources of both types).
func StoreLookup(st *store.Store) LinkLookup {
	return LinkLookup{
		User: func(ctx context.Context, pid string) (User, error) {
			msgs, err := st.Messages(ctx, store.MessageFilter{Direction: store.Out, Vendor: Name,
				ResourceType: "Patient", ResourceID: pid, Status: store.StatusDelivered})
			if err != nil {
				return User{}, fmt.Errorf("reading the vsee messages of the patient: %w", err)
			}
			for i := len(msgs) - 1; i >= 0; i-- {
				var u User
				if json.Unmarshal(msgs[i].Body, &u) == nil && u.Code == pid {
					return u, nil
				}
			}
			body, _, err := st.GetResource(ctx, "Patient", pid)
			if errors.Is(err, store.ErrNotFound) {
				return User{}, ErrNoPatient
			}
			if err != nil {
				return User{}, fmt.Errorf("reading the patient: %w", err)
			}
			return UserOf(body)
		},
		OwnsVisit: func(ctx context.Context, pid, visit string) (bool, error) {
			for _, typ := range []string{"Appointment", "ServiceRequest"} {
				err := st.Current(ctx, typ, func(_ string, _ int, body []byte) error {
					if ownsVisit(body, pid, visit) {
						return errFound
					}
					return nil
				})
				if errors.Is(err, errFound) {
					return true, nil
				}
				if err != nil {
					return false, fmt.Errorf("reading the stored %ss: %w", typ, err)
				}
			}
			return false, nil
		},
	}
}

// visitHolder is what ownsVisit reads of an Appointment or ServiceRequest.
type visitHolder struct {
	Identifier []struct {
		System, Value string
	} `json:"identifier"`
	Participant []struct {
		Actor struct {
			Reference string `json:"reference"`
		} `json:"actor"`
	} `json:"participant"`
	Subject struct {
		Reference string `json:"reference"`
	} `json:"subject"`
}

// ownsVisit reports whether an Appointment or ServiceRequest body carries
// visit as identifier VisitSystem and names Patient/pid (a participant or
// the subject).
func ownsVisit(body []byte, pid, visit string) bool {
	var h visitHolder
	if json.Unmarshal(body, &h) != nil {
		return false
	}
	has := false
	for _, id := range h.Identifier {
		has = has || (id.System == VisitSystem && id.Value == visit)
	}
	if !has {
		return false
	}
	ref := "Patient/" + pid // a FHIR reference, not a URL path
	if refers(h.Subject.Reference, ref) {
		return true
	}
	for _, p := range h.Participant {
		if refers(p.Actor.Reference, ref) {
			return true
		}
	}
	return false
}

// refers reports whether reference r (relative or absolute) is ref.
func refers(r, ref string) bool {
	return r == ref || (len(r) > len(ref) && r[len(r)-len(ref)-1] == '/' && r[len(r)-len(ref):] == ref)
}

// UserOf builds the SSO body of a stored Patient with vsee/user's choices
// (the official name, else the first; the first email; birthDate; the id).
func UserOf(patient []byte) (User, error) {
	var p struct {
		ID   string `json:"id"`
		Name []struct {
			Use    string   `json:"use"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
		Telecom []struct {
			System, Value string
		} `json:"telecom"`
		BirthDate string `json:"birthDate"`
	}
	if err := json.Unmarshal(patient, &p); err != nil || p.ID == "" {
		return User{}, errors.New("the stored Patient is not readable")
	}
	u := User{Code: p.ID, DOB: p.BirthDate}
	for i, n := range p.Name {
		if i == 0 || n.Use == "official" {
			u.LastName, u.FirstName = n.Family, ""
			if len(n.Given) > 0 {
				u.FirstName = n.Given[0]
			}
			if n.Use == "official" {
				break
			}
		}
	}
	for _, t := range p.Telecom {
		if t.System == "email" {
			u.Email = t.Value
			break
		}
	}
	return u, nil
}
