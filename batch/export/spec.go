package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// Default windows around the export time, per tuOtempO's advice (A.1.1:
// "appointments between 72 hours ahead and 24 hours past").
const (
	DefaultBefore = 24 * time.Hour
	DefaultAfter  = 72 * time.Hour
)

// ErrSpec is matched by the errors of an invalid Spec.
var ErrSpec = errors.New("invalid export spec")

// Spec describes one export job. Validate it once at start-up (Run does
// too); it is read-only afterwards and may be shared.
type Spec struct {
	// Name identifies the job in the ledger, metrics and alerts
	// ("tuotempo-appointments"): ASCII letters, digits, '-', '_' and '.'.
	Name string
	// Mapping is a forward mapping with row output, compiled with Params:
	// tuotempo/export, tuotempo/reservations, tuotempo/resources or another
	// shipped Sincro view (see LoadMapping). Its columns are the CSV header.
	Mapping *mapping.Mapping
	// Params are the parameters Mapping was compiled with; they are
	// recorded in the manifest. A "timezone" parameter is the default for
	// Location.
	Params map[string]string
	// Format of the CSV file.
	Format Format
	// NamePattern names the file (see NamePattern); "" means
	// DefaultNamePattern, "appointments_{time}.csv".
	NamePattern string
	// Window selects the Appointments exported, by start, and the future
	// Slots (start from the export time up to After).
	Window Window
	// Location is the job's time zone: the file name's time and the
	// manifest's times are local there. nil means Params["timezone"] when
	// set, else UTC.
	Location *time.Location
}

// Format is the CSV dialect of an export; the zero value is UTF-8,
// comma-separated, LF line ends, minimal quoting.
type Format struct {
	// Delimiter separates fields (',' when zero; ';' and '|' are common).
	Delimiter rune
	// Encoding is "utf-8" (default) or "windows-1252".
	Encoding string
	// CRLF ends lines with CR LF (RFC 4180; what Windows readers expect).
	CRLF bool
	// QuoteAll quotes every field; otherwise only fields that need it.
	QuoteAll bool
	// Lossy writes '?' for characters the encoding lacks instead of
	// refusing the row (a refused row is reported like a mapping refusal).
	Lossy bool
	// EscapeFormulas escapes every text cell against spreadsheet formula
	// injection in the writer as well. The shipped tuOtempO mappings
	// already escape their text columns (before the length check), so
	// leave it off for them: escaping after the check could push a cell
	// one character over its nvarchar limit.
	EscapeFormulas bool
}

// Window is the span of Appointment start times an export selects, around
// the export time t: [t-Before, t+After). Zero durations mean the defaults
// (24h, 72h). It applies to sources with a start time: Appointments by
// [t-Before, t+After), Slots (availabilities, offered only in the future)
// by [t, t+After). Other sources (Practitioner, HealthcareService,
// InsurancePlan, PractitionerRole) export every current resource.
type Window struct {
	Before, After time.Duration
}

// job is a validated Spec with its derived settings.
type job struct {
	Spec
	pattern       NamePattern
	loc           *time.Location
	before, after time.Duration
	write         flatfile.WriteOptions
}

// Validate checks s and reports the first problem.
func (s *Spec) Validate() error {
	_, err := s.compile()
	return err
}

func (s *Spec) compile() (*job, error) {
	j := &job{Spec: *s, before: s.Window.Before, after: s.Window.After, loc: s.Location}
	if !validJobName(s.Name) {
		return nil, fmt.Errorf("%w: job name %q must be ASCII letters, digits, '-', '_' or '.'", ErrSpec, s.Name)
	}
	if s.Mapping == nil || s.Mapping.Direction() != mapping.Forward || s.Mapping.Output() != "row" {
		return nil, fmt.Errorf("%w: job %s needs a forward mapping with row output", ErrSpec, s.Name)
	}
	var err error
	if j.pattern, err = ParseNamePattern(s.NamePattern); err != nil {
		return nil, fmt.Errorf("%w: job %s: %w", ErrSpec, s.Name, err)
	}
	if j.before == 0 {
		j.before = DefaultBefore
	}
	if j.after == 0 {
		j.after = DefaultAfter
	}
	if j.before < 0 || j.after < 0 {
		return nil, fmt.Errorf("%w: job %s: negative window", ErrSpec, s.Name)
	}
	if j.loc == nil {
		j.loc = time.UTC
		if tz := s.Params["timezone"]; tz != "" {
			if j.loc, err = time.LoadLocation(tz); err != nil {
				return nil, fmt.Errorf("%w: job %s: time zone: %w", ErrSpec, s.Name, err)
			}
		}
	}
	j.write = flatfile.WriteOptions{Delimiter: s.Format.Delimiter, CRLF: s.Format.CRLF, Encoding: s.Format.Encoding,
		Lossy: s.Format.Lossy, EscapeFormulas: s.Format.EscapeFormulas}
	if s.Format.QuoteAll {
		j.write.Quote = flatfile.QuoteAll
	}
	// the writer reports bad options on first use: try them now
	if err := flatfile.NewWriter(discard{}, []string{"x"}, j.write).Flush(); err != nil {
		return nil, fmt.Errorf("%w: job %s: format: %w", ErrSpec, s.Name, err)
	}
	return j, nil
}

func validJobName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// LoadMapping compiles the export mapping nameOrPath with params: a shipped
// name ("tuotempo/reservations") or the path of a mapping file. It refuses
// a mapping that is not forward with row output.
func LoadMapping(nameOrPath string, params map[string]string) (*mapping.Mapping, error) {
	var fsys fs.FS = shipped.FS
	file, ok := shipped.Path(nameOrPath)
	if !ok {
		fsys, file = os.DirFS(filepath.Dir(nameOrPath)), filepath.Base(nameOrPath)
	}
	m, err := mapping.Load(fsys, file, params)
	if err != nil {
		return nil, fmt.Errorf("loading export mapping: %w", err)
	}
	if m.Direction() != mapping.Forward || m.Output() != "row" {
		return nil, fmt.Errorf("loading export mapping %s: %w: not a forward mapping with row output", m.Name(), ErrSpec)
	}
	return m, nil
}
