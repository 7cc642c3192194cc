package results

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Section is the config key of the results section, which errors name.
const Section = "connectors.tuotempo.results"

// Defaults of Config.
const (
	DefaultStartDays       = 30
	DefaultMaxContentBytes = 20 << 20
	// MaxMaxContentBytes bounds max_content_bytes: the content is held in
	// memory and sent base64-encoded in one answer.
	MaxMaxContentBytes = 256 << 20
	DefaultTimeZone    = "Europe/Madrid"
)

// Config is the connectors.tuotempo.results section: how tuOtempO's
// medical results web services (guide C.2) read DiagnosticReports.
type Config struct {
	// DownloadCodeSystem is the DiagnosticReport identifier system whose
	// value is DOWNLOAD_CODE, the code the patient holds. Required.
	DownloadCodeSystem string `yaml:"download_code_system"`
	// IDNumberSystem is the Patient identifier system whose value is
	// USER_ID_NUMBER (the national ID number). Required.
	IDNumberSystem string `yaml:"id_number_system"`
	// StartDays is how many days back getTestResultsList looks when
	// RESULT_START_DATE is absent (default 30).
	StartDays int `yaml:"start_days"`
	// MaxContentBytes bounds a result's content getTestResultContent
	// sends (default 20 MiB, at most 256 MiB); a larger one is answered
	// Cancelled with "content unavailable".
	MaxContentBytes int64 `yaml:"max_content_bytes"`
	// TimeZone is the IANA zone RESULT_START_DATE (dd/mm/yyyy) is read
	// in (default Europe/Madrid).
	TimeZone string `yaml:"timezone"`
}

// FillDefaults sets the defaults of the fields left zero.
func (c *Config) FillDefaults() {
	if c.StartDays == 0 {
		c.StartDays = DefaultStartDays
	}
	if c.MaxContentBytes == 0 {
		c.MaxContentBytes = DefaultMaxContentBytes
	}
	if c.TimeZone == "" {
		c.TimeZone = DefaultTimeZone
	}
}

// Validate checks the section (after FillDefaults); each error names its
// key.
func (c *Config) Validate() []error {
	var errs []error
	if strings.TrimSpace(c.DownloadCodeSystem) == "" {
		errs = append(errs, errors.New(Section+".download_code_system: required"))
	}
	if strings.TrimSpace(c.IDNumberSystem) == "" {
		errs = append(errs, errors.New(Section+".id_number_system: required"))
	}
	if c.StartDays < 0 || c.StartDays > 3660 {
		errs = append(errs, fmt.Errorf("%s.start_days %d: want 1 to 3660 days", Section, c.StartDays))
	}
	if c.MaxContentBytes < 0 || c.MaxContentBytes > MaxMaxContentBytes {
		errs = append(errs, fmt.Errorf("%s.max_content_bytes %d: want 1 to %d", Section, c.MaxContentBytes, MaxMaxContentBytes))
	}
	if _, err := time.LoadLocation(c.TimeZone); c.TimeZone != "" && err != nil {
		errs = append(errs, fmt.Errorf("%s.timezone %q: not an IANA time zone", Section, c.TimeZone))
	}
	return errs
}
