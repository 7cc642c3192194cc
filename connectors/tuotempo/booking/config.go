package booking

import (
	"errors"
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// Section is the config key of the online section, which errors name.
const Section = "connectors.tuotempo.online"

// User patterns (guide B.2.2 addAppointment): the key tuOtempO and the
// bridge share for a patient.
const (
	// PatternLID: tuOtempO sends our Patient id (USER_LID) once it knows it.
	PatternLID = "lid"
	// PatternTID: tuOtempO sends its own patient id (USER_TID), kept as
	// Patient.identifier system [UserTIDSystem].
	PatternTID = "tid"
)

// Slot sources.
const (
	// SourceStore: the Schedules and Slots the EHR posts to the bridge.
	SourceStore = "store"
	// SourceEHR: the bridge pulls them from the EHR's FHIR server (the
	// shared ehr section) with Service.SyncSlots.
	SourceEHR = "ehr"
)

// Config is the section connectors.tuotempo.online: the centers tuOtempO
// books for and how bookings map to FHIR. Zero values take the defaults
// documented on each field (FillDefaults).
type Config struct {
	// Centers are the centers tuOtempO books for; at least one, unique lid.
	Centers []ws.Center `yaml:"centers"`
	// UserPattern is lid (default) or tid.
	UserPattern string `yaml:"user_pattern"`
	// IDNumberSystem is the Patient.identifier system of USER_ID_NUMBER;
	// empty: USER_ID_NUMBER is neither matched nor stored.
	IDNumberSystem string `yaml:"id_number_system"`
	// TimeZone is the IANA zone of dates and times (default Europe/Madrid);
	// a center's own timezone overrides it.
	TimeZone string `yaml:"timezone"`
	// MaxResults caps AVA_RESULTS_NUMBER (default 100).
	MaxResults int `yaml:"max_results"`
	// Slots says where the free Slots come from.
	Slots Slots `yaml:"slots"`
	// PublicURL is the external URL of the web services' prefix
	// ("https://bridge.example/tuotempo/ws/"), written in the WSDL's
	// soap:address; empty: taken from each request's Host and scheme.
	PublicURL string `yaml:"public_url"`
	// AllowBasicWithoutTLS accepts a center's HTTP Basic credentials on
	// plain HTTP (a TLS-terminating proxy in front on the same host, the
	// sandbox). Default false: Basic only over TLS.
	AllowBasicWithoutTLS bool `yaml:"allow_basic_without_tls" security:"true"`
}

// Slots is where the bookable Slots come from.
type Slots struct {
	// Source is store (default) or ehr.
	Source string `yaml:"source"`
	// Every is how often source ehr pulls (default 5m).
	Every connectors.Duration `yaml:"every"`
	// Days is how far ahead source ehr pulls (default 28).
	Days int `yaml:"days"`
}

// FillDefaults fills the section's defaults in place.
func (c *Config) FillDefaults() {
	if c.UserPattern == "" {
		c.UserPattern = PatternLID
	}
	if c.TimeZone == "" {
		c.TimeZone = "Europe/Madrid"
	}
	if c.MaxResults == 0 {
		c.MaxResults = 100
	}
	if c.Slots.Source == "" {
		c.Slots.Source = SourceStore
	}
	if c.Slots.Every == 0 {
		c.Slots.Every = connectors.Duration(5 * time.Minute)
	}
	if c.Slots.Days == 0 {
		c.Slots.Days = 28
	}
}

// maxCenterLID bounds a center's lid (CENTER_LID is nvarchar(50)).
const maxCenterLID = 50

// Validate checks the section (defaults filled) without the network; each
// error names its key.
func (c *Config) Validate() error {
	var errs []error
	p := Section
	if len(c.Centers) == 0 {
		errs = append(errs, errors.New(p+".centers: at least one center is required"))
	}
	seen := map[string]bool{}
	for i, ce := range c.Centers {
		at := fmt.Sprintf("%s.centers[%d]", p, i)
		switch {
		case ce.LID == "":
			errs = append(errs, errors.New(at+".lid: required"))
		case len(ce.LID) > maxCenterLID:
			errs = append(errs, fmt.Errorf("%s.lid: longer than %d characters", at, maxCenterLID))
		case seen[ce.LID]:
			errs = append(errs, fmt.Errorf("%s.lid: %q is used by an earlier center", at, ce.LID))
		}
		seen[ce.LID] = true
		if ce.Name == "" {
			errs = append(errs, errors.New(at+".name: required"))
		}
		if ce.TimeZone != "" {
			if _, err := time.LoadLocation(ce.TimeZone); err != nil {
				errs = append(errs, fmt.Errorf("%s.timezone %q: not an IANA time zone", at, ce.TimeZone))
			}
		}
		for j, l := range ce.Locations {
			if l == "" {
				errs = append(errs, fmt.Errorf("%s.locations[%d]: empty Location id", at, j))
			}
		}
	}
	if c.UserPattern != PatternLID && c.UserPattern != PatternTID {
		errs = append(errs, fmt.Errorf("%s.user_pattern %q: want lid or tid", p, c.UserPattern))
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("%s.timezone %q: not an IANA time zone", p, c.TimeZone))
	}
	if c.MaxResults < 1 || c.MaxResults > 10000 {
		errs = append(errs, fmt.Errorf("%s.max_results %d: want 1 to 10000", p, c.MaxResults))
	}
	switch c.Slots.Source {
	case SourceStore, SourceEHR:
	default:
		errs = append(errs, fmt.Errorf("%s.slots.source %q: want store or ehr", p, c.Slots.Source))
	}
	if c.Slots.Every < connectors.Duration(10*time.Second) {
		errs = append(errs, fmt.Errorf("%s.slots.every: at least 10s", p))
	}
	if c.Slots.Days < 1 || c.Slots.Days > 366 {
		errs = append(errs, fmt.Errorf("%s.slots.days %d: want 1 to 366", p, c.Slots.Days))
	}
	return errors.Join(errs...)
}

// center returns the configured center lid, or nil.
func (c *Config) center(lid string) *ws.Center {
	for i := range c.Centers {
		if c.Centers[i].LID == lid {
			return &c.Centers[i]
		}
	}
	return nil
}
