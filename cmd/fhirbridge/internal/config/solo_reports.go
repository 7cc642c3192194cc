package config

import (
	"errors"
	"regexp"
	"time"
)

// SoloReports configures `fhirbridge import solo-report` (section
// connectors.solo.reports). Every field is optional.
type SoloReports struct {
	// ZipPassword locks the encounter reports the import orders
	// (--encounter-report) and opens them; --password-env NAME overrides
	// it. A secret: {env: NAME} or {file: PATH}.
	ZipPassword Secret `yaml:"zip_password"`
	// PresetID is the report preset used when --preset is not given (a
	// UUID from the Solo web application).
	PresetID string `yaml:"preset_id"`
	// PollInterval is the first wait between status polls (default 2s);
	// each next wait doubles, up to PollMaxInterval (default 1m).
	PollInterval    Duration `yaml:"poll_interval"`
	PollMaxInterval Duration `yaml:"poll_max_interval"`
	// PollTimeout gives up on a report still pending (default 30m).
	PollTimeout Duration `yaml:"poll_timeout"`
	// TempDir holds downloads until they are verified and imported
	// (default: the system's temporary folder). Downloads are written
	// 0600 and removed when the import ends.
	TempDir string `yaml:"temp_dir"`
	// MaxBytes and MaxRows cap one report's CSV text (unzipped) and data
	// rows (0: 4 GiB and 10,000,000); --max-bytes and --max-rows override.
	MaxBytes int64 `yaml:"max_bytes"`
	MaxRows  int   `yaml:"max_rows"`
}

func (x *SoloReports) fillDefaults() {
	if x.PollInterval == 0 {
		x.PollInterval = Duration(2 * time.Second)
	}
	if x.PollMaxInterval == 0 {
		x.PollMaxInterval = Duration(time.Minute)
	}
	if x.PollTimeout == 0 {
		x.PollTimeout = Duration(30 * time.Minute)
	}
}

var presetPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (x *SoloReports) validate() []error {
	var errs []error
	if x.PresetID != "" && !presetPattern.MatchString(x.PresetID) {
		errs = append(errs, errors.New("connectors.solo.reports.preset_id: want a UUID"))
	}
	if x.PollInterval < 0 || x.PollMaxInterval < x.PollInterval {
		errs = append(errs, errors.New("connectors.solo.reports: poll_interval must be positive and at most poll_max_interval"))
	}
	if x.MaxBytes < 0 || x.MaxRows < 0 {
		errs = append(errs, errors.New("connectors.solo.reports: max_bytes and max_rows must not be negative"))
	}
	if x.PollTimeout <= 0 {
		errs = append(errs, errors.New("connectors.solo.reports.poll_timeout: must be positive"))
	}
	return errs
}
