package tmpfiles

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Table names which temporary table a folder's files hold.
type Table string

// The tables.
const (
	// ReservationsTmp is TT_RESERVATIONS_TMP (B.1): bookings made, moved
	// and cancelled online.
	ReservationsTmp Table = "TT_RESERVATIONS_TMP"
	// DeleteReservation is TT_DELETE_RESERVATION (A.2.3): cancellations
	// from reminders.
	DeleteReservation Table = "TT_DELETE_RESERVATION"
)

// Defaults of a Folder's zero fields.
const (
	DefaultReservationsPattern = "TT_RESERVATIONS_TMP_*.csv"
	DefaultDeletePattern       = "TT_DELETE_RESERVATION_*.csv"
	DefaultEvery               = time.Minute
	DefaultMinAge              = time.Minute
	DefaultMaxFileSize         = 16 << 20
	DefaultMaxRowSize          = 16 << 10
	ProcessedDir               = "processed"
	ErrorDir                   = "error"
)

// Folder is one polled folder of the config: the entries of
// connectors.tuotempo.reservations_tmp and .delete_reservations.
type Folder struct {
	// Name identifies the job in the ledger, reports and logs. Required.
	Name string `yaml:"name"`
	// Dir is the folder on the remote ("" = the remote's base).
	Dir string `yaml:"dir"`
	// Pattern is a glob of file names (default TT_RESERVATIONS_TMP_*.csv,
	// or TT_DELETE_RESERVATION_*.csv).
	Pattern string `yaml:"pattern"`
	// Every is the poll interval (default 1m).
	Every connectors.Duration `yaml:"every"`
	// MinAge is how old a file must be, unchanged across two polls,
	// before it is read (default 1m).
	MinAge connectors.Duration `yaml:"min_age"`
	// Center is the CENTER_LID the rows are booked for ("" = the Booker's
	// only center).
	Center string `yaml:"center"`
}

// Job is a validated Folder with its table and defaults.
type Job struct {
	Folder
	Table Table
	// MaxFileSize and MaxRowSize bound a file and one row, in bytes
	// (defaults DefaultMaxFileSize, DefaultMaxRowSize).
	MaxFileSize int64
	MaxRowSize  int
}

// Jobs validates the folders of one table under the config key at
// ("connectors.tuotempo.reservations_tmp") and returns them as jobs with
// their defaults; every error names its key. names holds the job names
// already taken by the section's other jobs and receives these.
func Jobs(at string, table Table, folders []Folder, names map[string]bool) ([]Job, error) {
	var errs []error
	var jobs []Job
	for i, f := range folders {
		key := fmt.Sprintf("%s[%d]", at, i)
		j, err := newJob(f, table)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		if names[f.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate job name %q", key, f.Name))
			continue
		}
		names[f.Name] = true
		jobs = append(jobs, j)
	}
	return jobs, errors.Join(errs...)
}

// newJob validates f and fills its defaults.
func newJob(f Folder, table Table) (Job, error) {
	j := Job{Folder: f, Table: table, MaxFileSize: DefaultMaxFileSize, MaxRowSize: DefaultMaxRowSize}
	if _, ok := tables[table]; !ok {
		return j, fmt.Errorf("unknown table %q", table)
	}
	if f.Name == "" {
		return j, errors.New("name is required")
	}
	if j.Pattern == "" {
		j.Pattern = DefaultReservationsPattern
		if table == DeleteReservation {
			j.Pattern = DefaultDeletePattern
		}
	}
	if _, err := path.Match(j.Pattern, ""); err != nil || strings.Contains(j.Pattern, "/") {
		return j, fmt.Errorf("pattern %q: a glob of file names", j.Pattern)
	}
	if f.Every < 0 || f.MinAge < 0 {
		return j, errors.New("every and min_age must not be negative")
	}
	if j.Every == 0 {
		j.Every = connectors.Duration(DefaultEvery)
	}
	if j.MinAge == 0 {
		j.MinAge = connectors.Duration(DefaultMinAge)
	}
	j.Dir = strings.Trim(j.Dir, "/")
	return j, nil
}
