package sincro

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Section is the config key of the Sincro section, which errors name.
const Section = "connectors.tuotempo.sincro"

// Config is the connectors.tuotempo.sincro section: where Sincro's views
// and temporary tables are published (PostgreSQL stores only), the role
// tuOtempO SINCRO connects as and how the bridge takes what it inserts.
// Zero values take the defaults documented on each field (FillDefaults).
type Config struct {
	// Schema holds the published views and the two temporary tables
	// (default tuotempo), all as views. The bridge's private tables are in
	// the fixed schema tuotempo_sincro_data (migration line
	// tuotempo_sincro), which Schema may not name.
	Schema string `yaml:"schema"`
	// Role is the restricted PostgreSQL role SINCRO logs in as (default
	// tuotempo_sincro); `sincro grant` creates it.
	Role string `yaml:"role"`
	// Center is the ws.Center lid the inserted rows book for; empty takes
	// the only configured center (see DefaultCenter).
	Center string `yaml:"center"`
	// Poll is the fallback poll interval of the temporary tables (default
	// 5s; a trigger notifies the bridge at once).
	Poll connectors.Duration `yaml:"poll"`
	// Refresh is the interval of the full rebuild of the views' rows,
	// which catches changes of resources a row only references (a
	// Practitioner's name in TT_RESERVATIONS); default 10m.
	Refresh connectors.Duration `yaml:"refresh"`
	// ReservationsDays is how many days back TT_RESERVATIONS shows
	// (default 7; guide B.1 note 1).
	ReservationsDays *int `yaml:"reservations_days"`
	// TimeZone is the center's IANA zone the views' dates are in, for the
	// date filters (default Europe/Madrid); mappings with a timezone
	// parameter get it unless Params sets one.
	TimeZone string `yaml:"timezone"`
	// Params are the mappings' parameters by view name (TT_RESERVATIONS:
	// {survey: "true"}).
	Params map[string]map[string]string `yaml:"params"`
}

// FillDefaults fills the section's defaults.
func (c *Config) FillDefaults() {
	if c.Schema == "" {
		c.Schema = "tuotempo"
	}
	if c.Role == "" {
		c.Role = "tuotempo_sincro"
	}
	if c.Poll == 0 {
		c.Poll = connectors.Duration(5 * time.Second)
	}
	if c.Refresh == 0 {
		c.Refresh = connectors.Duration(10 * time.Minute)
	}
	if c.ReservationsDays == nil {
		d := 7
		c.ReservationsDays = &d
	}
	if c.TimeZone == "" {
		c.TimeZone = "Europe/Madrid"
	}
}

// DefaultCenter sets Center to the only one of lids when it is empty, and
// checks that it names one of them.
func (c *Config) DefaultCenter(lids []string) error {
	if c.Center == "" {
		if len(lids) != 1 {
			return fmt.Errorf("%s.center: required when there is not exactly one center (there are %d)", Section, len(lids))
		}
		c.Center = lids[0]
		return nil
	}
	if !slices.Contains(lids, c.Center) {
		return fmt.Errorf("%s.center %q: not a configured center", Section, c.Center)
	}
	return nil
}

// identRE is what a schema or role name from the config may be: a plain
// lower-case PostgreSQL identifier, so it needs no quoting anywhere and
// cannot fold to another name.
var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,57}$`)

// CheckIdent reports whether s is a name the config may give a schema or
// a role.
func CheckIdent(s string) error {
	if !identRE.MatchString(s) {
		return fmt.Errorf("%q: want a lower-case identifier (a-z, 0-9, _; not starting with a digit; at most 58 characters)", s)
	}
	return nil
}

// Validate checks the section (defaults filled); each error names its key.
func (c *Config) Validate() []error {
	var errs []error
	if err := CheckIdent(c.Schema); err != nil {
		errs = append(errs, fmt.Errorf("%s.schema %w", Section, err))
	} else if slices.Contains([]string{"public", "pg_catalog", "information_schema"}, c.Schema) || len(c.Schema) > 2 && c.Schema[:3] == "pg_" {
		errs = append(errs, fmt.Errorf("%s.schema %q: a system or shared schema; name a schema of its own", Section, c.Schema))
	} else if c.Schema == privateSchema {
		errs = append(errs, fmt.Errorf("%s.schema %q: the bridge's private Sincro schema; name another", Section, c.Schema))
	}
	if err := CheckIdent(c.Role); err != nil {
		errs = append(errs, fmt.Errorf("%s.role %w", Section, err))
	} else if len(c.Role) > 2 && c.Role[:3] == "pg_" {
		errs = append(errs, fmt.Errorf("%s.role %q: pg_ names are reserved", Section, c.Role))
	}
	if c.Poll < connectors.Duration(100*time.Millisecond) {
		errs = append(errs, fmt.Errorf("%s.poll %s: at least 100ms", Section, time.Duration(c.Poll)))
	}
	if c.Refresh < connectors.Duration(time.Minute) && c.Refresh != 0 {
		errs = append(errs, fmt.Errorf("%s.refresh %s: at least 1m", Section, time.Duration(c.Refresh)))
	}
	if d := c.ReservationsDays; d != nil && (*d < 0 || *d > 366) {
		errs = append(errs, fmt.Errorf("%s.reservations_days %d: between 0 and 366", Section, *d))
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "Local" {
		errs = append(errs, fmt.Errorf("%s.timezone %q: not an IANA time zone", Section, c.TimeZone))
	}
	for view := range c.Params {
		if !slices.ContainsFunc(Views, func(v View) bool { return v.Name == view }) {
			errs = append(errs, fmt.Errorf("%s.params.%s: not a view (want one of TT_RESOURCES, TT_ACTIVITIES, …)", Section, view))
		}
	}
	return errs
}

// errSQLite is the refusal of the section on a SQLite store.
var errSQLite = errors.New(Section + ": needs a PostgreSQL store (tuOtempO SINCRO connects to the database); this store is SQLite")
