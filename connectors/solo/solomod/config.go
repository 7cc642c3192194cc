package solomod

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Config is the connectors.solo section of the application's
// configuration. Zero values take the documented defaults (Check fills
// them).
//
//	connectors:
//	  solo:
//	    base_url: https://demo.visitnow.org
//	    api_key: {env: SOLO_API_KEY}
type Config struct {
	// BaseURL of the Solo API, e.g. https://demo.visitnow.org; http or
	// https. Required.
	BaseURL string `yaml:"base_url"`
	// APIKey is sent as the Api-Key header. Required; a secret:
	// {env: NAME} or {file: PATH}.
	APIKey connectors.Secret `yaml:"api_key"`
	// Timeout of one call (default 30s).
	Timeout connectors.Duration `yaml:"timeout"`
	// Webhooks receives Solo's events (see Webhooks).
	Webhooks *Webhooks `yaml:"webhooks"`
	// Status brings appointment status back to FHIR (see Status).
	Status *Status `yaml:"status"`
	// Links fetches video links after an appointment is created (see Links).
	Links *Links `yaml:"links"`
	// ContextLinks builds context-aware links (see ContextLinks).
	ContextLinks *ContextLinks `yaml:"context_links"`
	// Slots answers FHIR Slot searches from Solo (see Slots).
	Slots *Slots `yaml:"slots"`
	// Reports imports Solo's CSV reports (see Reports).
	Reports *Reports `yaml:"reports"`
	// Assistance configures the status poll of assistance requests (see Assistance).
	Assistance *Assistance `yaml:"assistance"`
	// PerfectAnswer holds the perfect-answer lookup tables (see PerfectAnswer).
	PerfectAnswer *PerfectAnswer `yaml:"perfect_answer"`
	// VisitNotes reads finished appointments' visit notes back (see
	// VisitNotes, visitnotes.go).
	VisitNotes *VisitNotes `yaml:"visit_notes"`
}

// key is the whole path of a key of the section, as errors name it.
func key(k string) string { return "connectors." + solo.Name + "." + k }

// CheckSection fills the defaults of the section and of each optional
// part that is set, then reports every problem, each naming its key by
// its whole path (connectors.solo.…). It opens nothing.
func (c *Config) CheckSection() error {
	if c.Timeout == 0 {
		c.Timeout = connectors.Duration(solo.DefaultTimeout)
	}
	var errs []error
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, errors.New(key("base_url")+": want an http(s) URL"))
	} else if err := checkURLPort(u); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", key("base_url"), err))
	}
	if c.APIKey == "" {
		errs = append(errs, errors.New(key("api_key")+": missing (api_key: {env: NAME} or {file: PATH}, or FHIRBRIDGE_CONNECTORS__SOLO__API_KEY)"))
	}
	for _, p := range c.parts() {
		p.fillDefaults()
		errs = append(errs, p.validate()...)
	}
	return errors.Join(errs...)
}

// Preflight opens what serve and import read later: the report download
// folder (reports.temp_dir) must be a folder.
func (c *Config) Preflight() error {
	if r := c.Reports; r != nil && r.TempDir != "" {
		fi, err := os.Stat(r.TempDir)
		if err == nil && !fi.IsDir() {
			err = fmt.Errorf("%s is not a folder", r.TempDir)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key("reports.temp_dir"), err)
		}
	}
	return nil
}

// Client builds the Solo client of the section.
func (c *Config) Client() (*solo.Connector, error) {
	return solo.New(solo.Config{BaseURL: c.BaseURL, APIKey: c.APIKey, Timeout: time.Duration(c.Timeout)})
}

// checkURLPort refuses an explicit port outside 1-65535.
func checkURLPort(u *url.URL) error {
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %q is not 1-65535", p)
		}
	}
	return nil
}

// part is one optional part of the section.
type part interface {
	fillDefaults()
	validate() []error
}

// parts lists the optional parts that are set.
func (c *Config) parts() []part {
	var out []part
	if c.Webhooks != nil {
		out = append(out, c.Webhooks)
	}
	if c.Status != nil {
		out = append(out, c.Status)
	}
	if c.Links != nil {
		out = append(out, c.Links)
	}
	if c.ContextLinks != nil {
		out = append(out, c.ContextLinks)
	}
	if c.Slots != nil {
		out = append(out, c.Slots)
	}
	if c.Reports != nil {
		out = append(out, c.Reports)
	}
	if c.Assistance != nil {
		out = append(out, c.Assistance)
	}
	if c.PerfectAnswer != nil {
		out = append(out, c.PerfectAnswer)
	}
	if c.VisitNotes != nil {
		out = append(out, c.VisitNotes)
	}
	return out
}

// MinWebhookToken is the shortest accepted webhook path token: 32
// characters (`fhirbridge solo webhooks register` makes 64 hex digits).
const MinWebhookToken = 32

// Webhooks configures the receiver of Solo's webhook events, mounted by
// serve at POST /solo/webhooks/{token}.
type Webhooks struct {
	// Token is the secret last segment of the receiver's path; at least 32
	// characters. `fhirbridge solo webhooks register` writes one to a 0600
	// file under data_dir and prints the line that references it.
	Token connectors.Secret `yaml:"token"`
	// EncryptionKey is the subscription's encryptionKey that Solo returned
	// on register (written the same way); it decrypts the payloads.
	EncryptionKey connectors.Secret `yaml:"encryption_key"`
	// RetryEvery is obsolete: events are jobs of the delivery queue and
	// retry with its backoff. It is still accepted (and checked) so that
	// existing configs load, and ignored (default 30s).
	RetryEvery connectors.Duration `yaml:"retry_every"`
	// MaxAttempts bounds the tries of a failing event before its job is
	// dead-lettered for replay (default 10).
	MaxAttempts int `yaml:"max_attempts"`
}

func (x *Webhooks) fillDefaults() {
	if x.RetryEvery == 0 {
		x.RetryEvery = connectors.Duration(30 * time.Second)
	}
	if x.MaxAttempts == 0 {
		x.MaxAttempts = 10
	}
}

func (x *Webhooks) validate() []error {
	var errs []error
	if len(x.Token.Reveal()) < MinWebhookToken {
		errs = append(errs, errors.New(key("webhooks.token")+": missing or shorter than 32 characters (a secret: {env: NAME} or {file: PATH}; `fhirbridge solo webhooks register` makes one)"))
	}
	if x.EncryptionKey == "" {
		errs = append(errs, errors.New(key("webhooks.encryption_key")+": missing (the encryptionKey Solo returned; {env: NAME} or {file: PATH})"))
	}
	if x.RetryEvery < connectors.Duration(time.Second) {
		errs = append(errs, errors.New(key("webhooks.retry_every")+": at least 1s"))
	}
	if x.MaxAttempts < 1 {
		errs = append(errs, errors.New(key("webhooks.max_attempts")+": at least 1"))
	}
	return errs
}

// Status configures how Solo appointment status comes back to FHIR
// without webhooks: a poll of stored Appointments not yet final. Changed
// Appointments and Encounters go to the ehr section's endpoint when set.
type Status struct {
	// Every is the poll interval (default 5m).
	Every connectors.Duration `yaml:"every"`
	// Lookback: Appointments that started longer ago are no longer polled
	// (default 72h).
	Lookback connectors.Duration `yaml:"lookback"`
}

func (x *Status) fillDefaults() {
	if x.Every == 0 {
		x.Every = connectors.Duration(5 * time.Minute)
	}
	if x.Lookback == 0 {
		x.Lookback = connectors.Duration(72 * time.Hour)
	}
}

func (x *Status) validate() []error {
	var errs []error
	if x.Every < connectors.Duration(10*time.Second) {
		errs = append(errs, errors.New(key("status.every")+": at least 10s"))
	}
	if x.Lookback < 0 {
		errs = append(errs, errors.New(key("status.lookback")+": not negative"))
	}
	return errs
}

// Links configures the video links fetched after an appointment is
// created or updated in Solo (solo.WithVideoLinks). The section's presence
// turns the fetching on: provider-link and video-call-links always, the MS
// Teams provider link when MSTeams is true. The links land on the stored
// Appointment as extensions urn:fhirbridge:solo:providerLink,
// urn:fhirbridge:solo:patientLink and urn:fhirbridge:solo:msTeamsLink.
type Links struct {
	// MSTeams also fetches the MS Teams provider link
	// (msteams-provider-link). Default false.
	MSTeams bool `yaml:"ms_teams"`
	// TeamsAuthToken is sent as the Teams-Auth-Token header of the MS
	// Teams call; required when MSTeams is true. A secret: {env: NAME} or
	// {file: PATH}.
	TeamsAuthToken connectors.Secret `yaml:"teams_auth_token"`
}

func (x *Links) fillDefaults() {}

func (x *Links) validate() []error {
	if x.MSTeams && x.TeamsAuthToken == "" {
		return []error{errors.New(key("links.teams_auth_token") + ": required with ms_teams: true ({env: NAME} or {file: PATH})")}
	}
	return nil
}

// ContextLinks configures the context-aware links that `fhirbridge solo
// link` builds (spec: "Context Aware Linking").
//
//	connectors:
//	  solo:
//	    context_links:
//	      secret: {env: SOLO_LINK_SECRET}
//	      link_url: https://demo.visitnow.org/integrations/linking
type ContextLinks struct {
	// Secret is the shared secret agreed with Solo; the AES-256 key of each
	// link is SHA-256(secret ‖ salt). Required.
	Secret connectors.Secret `yaml:"secret"`
	// LinkURL is the linking endpoint the encrypted argument is appended
	// to as ?arg=… (default: connectors.solo.base_url +
	// /integrations/linking).
	LinkURL string `yaml:"link_url"`
}

func (x *ContextLinks) fillDefaults() {}

func (x *ContextLinks) validate() []error {
	var errs []error
	if x.Secret == "" {
		errs = append(errs, errors.New(key("context_links.secret")+": missing ({env: NAME} or {file: PATH})"))
	}
	if x.LinkURL != "" {
		if u, err := url.Parse(x.LinkURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			errs = append(errs, errors.New(key("context_links.link_url")+": want an http(s) URL without a query"))
		} else if err := checkURLPort(u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key("context_links.link_url"), err))
		}
	}
	return errs
}

// Slots configures the FHIR Slot search answered from Solo's appointment
// slots (GET /fhir/Slot?schedule=…&start=ge…&start=lt…).
//
//	connectors:
//	  solo:
//	    slots:
//	      waiting_rooms_ttl: 5m
//	      duration: 15m
//	      max_window: 744h
//	      schedules: {gp: General Practice}
type Slots struct {
	// WaitingRoomsTTL is how long the waiting-room list fetched from Solo
	// is reused (default 5m).
	WaitingRoomsTTL connectors.Duration `yaml:"waiting_rooms_ttl"`
	// Duration is the slot length asked of Solo, whole seconds from 1s to
	// 24h; unset, Solo uses each waiting room's own slot duration.
	Duration connectors.Duration `yaml:"duration"`
	// MaxWindow caps the span between a search's start bounds
	// (default 744h, 31 days); a wider search is answered 400.
	MaxWindow connectors.Duration `yaml:"max_window"`
	// Schedules maps FHIR Schedule ids to Solo waiting room names. Unset,
	// a Schedule id is the waiting room's Solo id (Schedule/<room id>);
	// set, only the ids listed here are schedules.
	Schedules map[string]string `yaml:"schedules"`
}

// DefaultWaitingRoomsTTL and DefaultSlotWindow are Slots' defaults.
const (
	DefaultWaitingRoomsTTL = 5 * time.Minute
	DefaultSlotWindow      = 31 * 24 * time.Hour
)

func (x *Slots) fillDefaults() {
	if x.WaitingRoomsTTL == 0 {
		x.WaitingRoomsTTL = connectors.Duration(DefaultWaitingRoomsTTL)
	}
	if x.MaxWindow == 0 {
		x.MaxWindow = connectors.Duration(DefaultSlotWindow)
	}
}

func (x *Slots) validate() []error {
	var errs []error
	if x.WaitingRoomsTTL < 0 {
		errs = append(errs, errors.New(key("slots.waiting_rooms_ttl")+": must not be negative"))
	}
	if d := time.Duration(x.Duration); d != 0 && (d < time.Second || d > 24*time.Hour || d%time.Second != 0) {
		errs = append(errs, errors.New(key("slots.duration")+": whole seconds from 1s to 24h (Solo's range [1, 86400])"))
	}
	if x.MaxWindow < 0 {
		errs = append(errs, errors.New(key("slots.max_window")+": must not be negative"))
	}
	for _, id := range x.ScheduleIDs() {
		if !fhir.ValidID(id) {
			errs = append(errs, fmt.Errorf("%s: %q is not a FHIR id ([A-Za-z0-9-.]{1,64})", key("slots.schedules"), id))
		}
		if x.Schedules[id] == "" {
			errs = append(errs, fmt.Errorf("%s.%s: names no waiting room", key("slots.schedules"), id))
		}
	}
	return errs
}

// ScheduleIDs lists the keys of Schedules, sorted.
func (x *Slots) ScheduleIDs() []string {
	ids := make([]string, 0, len(x.Schedules))
	for id := range x.Schedules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Reports configures `fhirbridge import solo-report` (section
// connectors.solo.reports). Every field is optional.
type Reports struct {
	// ZipPassword locks the encounter reports the import orders
	// (--encounter-report) and opens them; --password-env NAME overrides
	// it. A secret: {env: NAME} or {file: PATH}.
	ZipPassword connectors.Secret `yaml:"zip_password"`
	// PresetID is the report preset used when --preset is not given (a
	// UUID from the Solo web application).
	PresetID string `yaml:"preset_id"`
	// PollInterval is the first wait between status polls (default 2s);
	// each next wait doubles, up to PollMaxInterval (default 1m).
	PollInterval    connectors.Duration `yaml:"poll_interval"`
	PollMaxInterval connectors.Duration `yaml:"poll_max_interval"`
	// PollTimeout gives up on a report still pending (default 30m).
	PollTimeout connectors.Duration `yaml:"poll_timeout"`
	// TempDir holds downloads until they are verified and imported
	// (default: the system's temporary folder). Downloads are written
	// 0600 and removed when the import ends.
	TempDir string `yaml:"temp_dir"`
	// MaxBytes and MaxRows cap one report's CSV text (unzipped) and data
	// rows (0: 4 GiB and 10,000,000); --max-bytes and --max-rows override.
	MaxBytes int64 `yaml:"max_bytes"`
	MaxRows  int   `yaml:"max_rows"`
}

// DefaultReports is the reports section with only its defaults, for an
// import without one.
func DefaultReports() Reports {
	var r Reports
	r.fillDefaults()
	return r
}

func (x *Reports) fillDefaults() {
	if x.PollInterval == 0 {
		x.PollInterval = connectors.Duration(2 * time.Second)
	}
	if x.PollMaxInterval == 0 {
		x.PollMaxInterval = connectors.Duration(time.Minute)
	}
	if x.PollTimeout == 0 {
		x.PollTimeout = connectors.Duration(30 * time.Minute)
	}
}

var presetPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func (x *Reports) validate() []error {
	var errs []error
	if x.PresetID != "" && !presetPattern.MatchString(x.PresetID) {
		errs = append(errs, errors.New(key("reports.preset_id")+": want a UUID"))
	}
	if x.PollInterval < 0 || x.PollMaxInterval < x.PollInterval {
		errs = append(errs, errors.New(key("reports")+": poll_interval must be positive and at most poll_max_interval"))
	}
	if x.MaxBytes < 0 || x.MaxRows < 0 {
		errs = append(errs, errors.New(key("reports")+": max_bytes and max_rows must not be negative"))
	}
	if x.PollTimeout <= 0 {
		errs = append(errs, errors.New(key("reports.poll_timeout")+": must be positive"))
	}
	return errs
}
