package tuotempo

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/booking"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/results"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/sincro"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/sso"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/tmpfiles"
)

// Config is the connectors.tuotempo section: where files go and come
// from, the scheduled exports and the cancellation files polled back.
// Zero values take the defaults documented on each field.
type Config struct {
	// Remote is the file server (or local folder) shared with tuOtempO.
	Remote Remote `yaml:"remote"`
	// Exports are the scheduled exports (file only, not environment).
	Exports []Export `yaml:"exports"`
	// Cancellations are the inbound folders polled for cancellation files.
	Cancellations []Cancellations `yaml:"cancellations"`
	// ReservationsTmp are the folders polled for TT_RESERVATIONS_TMP files
	// and DeleteReservations those polled for TT_DELETE_RESERVATION files
	// (the temporary tables as files, package tmpfiles).
	ReservationsTmp    []tmpfiles.Folder `yaml:"reservations_tmp"`
	DeleteReservations []tmpfiles.Folder `yaml:"delete_reservations"`
	// NotifyTo receives the mail notices of this site (needs the shared
	// mail section).
	NotifyTo []string `yaml:"notify_to"`
	// Online is the online booking (tuOtempO calls the bridge's web
	// services); nil when the site does not book online.
	Online *booking.Config `yaml:"online"`
	// Results, when set, serves the medical results web services (guide
	// C.2): getTestResultsList and getTestResultContent.
	Results *results.Config `yaml:"results"`
	// SSO, when set, serves the patient single sign-on (guide D.1) at
	// POST /tuotempo/sso.
	SSO *sso.Config `yaml:"sso"`
	// Sincro, when set, publishes Sincro's views and temporary tables in
	// the PostgreSQL store (see package sincro; refused on SQLite).
	Sincro *sincro.Config `yaml:"sincro"`
}

// Remote is an SFTP or FTP server or a local folder.
type Remote struct {
	// Kind is sftp, ftp or local.
	Kind string `yaml:"kind"`
	// Host is the server's name or IP address, without the port.
	Host string `yaml:"host"`
	// Port defaults to 22 (sftp) or 21 (ftp).
	Port int `yaml:"port"`
	// User logs in.
	User string `yaml:"user"`
	// Password logs in (SFTP may use KeyFile instead).
	Password connectors.Secret `yaml:"password"`
	// KeyFile is an SSH private key (relative to the config's folder).
	KeyFile string `yaml:"key_file" security:"true"`
	// KeyPassphrase unlocks KeyFile when it is encrypted.
	KeyPassphrase connectors.Secret `yaml:"key_passphrase"`
	// KnownHosts is an OpenSSH known_hosts file pinning the SFTP server's
	// key; HostKeyFingerprint ("SHA256:…", as ssh-keygen -lf prints it)
	// pins it instead. SFTP needs one.
	KnownHosts string `yaml:"known_hosts" security:"true"`
	// HostKeyFingerprint: see KnownHosts.
	HostKeyFingerprint string `yaml:"host_key_fingerprint" security:"true"`
	// TLS asks FTP for explicit TLS.
	TLS bool `yaml:"tls" security:"true"`
	// CAFile adds the CA that signed the FTP server's certificate.
	CAFile string `yaml:"ca_file" security:"true"`
	// Dir is the base folder on the server, or on disk for local
	// (relative to the config's folder).
	Dir string `yaml:"dir"`
	// Timeout bounds connecting and each operation (default 30s).
	Timeout connectors.Duration `yaml:"timeout"`
}

// Export is one scheduled export.
type Export struct {
	// Name identifies the job in the ledger, logs and metrics.
	Name string `yaml:"name"`
	// Mapping is the column set: tuotempo/export (A.1.1, the default), a
	// Sincro view (tuotempo/reservations, resources, activities,
	// insurances, resources-activities, insurances-activities,
	// insurances-resources, availabilities, activities-availabilities) or
	// a mapping file.
	Mapping string `yaml:"mapping"`
	// Params are the mapping's parameters.
	Params map[string]string `yaml:"params"`
	// Schedule is a 5-field cron expression in TimeZone (e.g. "30 2 * * *").
	Schedule string `yaml:"schedule"`
	// TimeZone is an IANA zone (default Europe/Madrid).
	TimeZone string `yaml:"timezone"`
	// File is the file name pattern; {time} is the export time in
	// TimeZone as 20060102T1504 (default appointments_{time}.csv).
	File string `yaml:"file"`
	// Dir is the folder on the remote ("" = the remote's base).
	Dir string `yaml:"dir"`
	// Window is the span of appointment start times exported around the
	// export time (default 24h before, 72h after); Slots (availabilities)
	// are exported from the export time up to After.
	Window Window `yaml:"window"`
	// Format is the CSV dialect.
	Format Format `yaml:"format"`
}

// Window is a span around the export time.
type Window struct {
	// Before is how far back from the export time (default 24h).
	Before connectors.Duration `yaml:"before"`
	// After is how far ahead of the export time (default 72h).
	After connectors.Duration `yaml:"after"`
}

// Format is the CSV dialect of an export.
type Format struct {
	// Delimiter is one character (default ",").
	Delimiter string `yaml:"delimiter"`
	// Encoding is utf-8 (default) or windows-1252.
	Encoding string `yaml:"encoding"`
	// CRLF ends lines with CR LF instead of LF.
	CRLF bool `yaml:"crlf"`
	// QuoteAll quotes every field, not only those that need it.
	QuoteAll bool `yaml:"quote_all"`
}

// Cancellations is one polled inbound folder.
type Cancellations struct {
	// Name identifies the job in the ledger, logs and metrics.
	Name string `yaml:"name"`
	// Dir is the folder on the remote ("" = the remote's base).
	Dir string `yaml:"dir"`
	// Pattern is a glob of file names (default cancellations_*.csv).
	Pattern string `yaml:"pattern"`
	// Every is the poll interval (default 1m).
	Every connectors.Duration `yaml:"every"`
	// MinAge is how old a file must be, unchanged across two polls,
	// before it is read (default 1m).
	MinAge connectors.Duration `yaml:"min_age"`
	// DoneMarker, when set (e.g. ".done"), takes a file as soon as
	// FILE+DoneMarker exists.
	DoneMarker string `yaml:"done_marker"`
	// Mapping is the reverse mapping (default tuotempo/cancellation).
	Mapping string `yaml:"mapping"`
}

// section is the config key of the module's section, which errors name.
const section = "connectors." + Name

// fillDefaults fills the section's defaults.
func (t *Config) fillDefaults() {
	if t.Sincro != nil {
		t.Sincro.FillDefaults()
	}
	if t.Remote.Timeout == 0 {
		t.Remote.Timeout = connectors.Duration(30 * time.Second)
	}
	for i := range t.Exports {
		e := &t.Exports[i]
		if e.TimeZone == "" {
			e.TimeZone = "Europe/Madrid"
		}
		if e.File == "" {
			e.File = "appointments_{time}.csv"
		}
		if e.Mapping == "" {
			e.Mapping = "tuotempo/export"
		}
		if e.Window.Before == 0 {
			e.Window.Before = connectors.Duration(24 * time.Hour)
		}
		if e.Window.After == 0 {
			e.Window.After = connectors.Duration(72 * time.Hour)
		}
	}
	for i := range t.Cancellations {
		c := &t.Cancellations[i]
		if c.Pattern == "" {
			c.Pattern = "cancellations_*.csv"
		}
		if c.Every == 0 {
			c.Every = connectors.Duration(time.Minute)
		}
		if c.MinAge == 0 {
			c.MinAge = connectors.Duration(time.Minute)
		}
		if c.Mapping == "" {
			c.Mapping = "tuotempo/cancellation"
		}
	}
}

// validate checks the section without the network or the files: the
// remote's kind, what it needs and its address; the jobs' names, zones,
// file patterns and formats; and that notices have a mail server. Each
// error names its key.
func (t *Config) validate(hasMail bool) []error {
	var errs []error
	const p = section
	if t.Online != nil {
		t.Online.FillDefaults()
		if err := t.Online.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if t.Results != nil {
		t.Results.FillDefaults()
		errs = append(errs, t.Results.Validate()...)
	}
	if t.SSO != nil {
		t.SSO.FillDefaults()
		errs = append(errs, t.SSO.Validate()...)
	}
	if t.Results != nil && t.Online == nil {
		errs = append(errs, errors.New(p+".results: the results web services are served with the online section (its centers and their credentials)"))
	}
	if (len(t.ReservationsTmp) > 0 || len(t.DeleteReservations) > 0) && t.Online == nil {
		errs = append(errs, errors.New(p+".reservations_tmp, delete_reservations: their rows are booked through the online section, which is missing"))
	}
	noFiles := len(t.Exports) == 0 && len(t.Cancellations) == 0 && len(t.ReservationsTmp) == 0 && len(t.DeleteReservations) == 0
	switch r := t.Remote; r.Kind {
	case "":
		if !noFiles {
			errs = append(errs, fmt.Errorf("%s.remote.kind %q: want sftp, ftp or local", p, r.Kind))
		}
	case "sftp":
		if r.Host == "" || r.User == "" {
			errs = append(errs, errors.New(p+".remote: sftp needs host and user"))
		}
		if r.KnownHosts == "" && r.HostKeyFingerprint == "" {
			errs = append(errs, errors.New(p+".remote: sftp needs known_hosts or host_key_fingerprint (the server's host key is always checked)"))
		}
		if r.Password == "" && r.KeyFile == "" {
			errs = append(errs, errors.New(p+".remote: sftp needs password or key_file"))
		}
	case "ftp":
		if r.Host == "" || r.User == "" {
			errs = append(errs, errors.New(p+".remote: ftp needs host and user"))
		}
	case "local":
		if r.Dir == "" {
			errs = append(errs, errors.New(p+".remote: local needs dir"))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.remote.kind %q: want sftp, ftp or local", p, r.Kind))
	}
	if r := t.Remote; r.Kind == "sftp" || r.Kind == "ftp" {
		if r.Host != "" {
			if err := connectors.CheckHost(r.Host); err != nil {
				errs = append(errs, fmt.Errorf("%s.remote.host: %w", p, err))
			}
		}
		if r.Port != 0 {
			if err := connectors.CheckPort(strconv.Itoa(r.Port)); err != nil {
				errs = append(errs, fmt.Errorf("%s.remote.port: %w", p, err))
			}
		}
	}
	names := map[string]bool{}
	for i, e := range t.Exports {
		at := fmt.Sprintf("%s.exports[%d]", p, i)
		if e.Name == "" || e.Schedule == "" {
			errs = append(errs, errors.New(at+": name and schedule are required"))
		}
		if names[e.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate job name %q", at, e.Name))
		}
		names[e.Name] = true
		if _, err := time.LoadLocation(e.TimeZone); err != nil {
			errs = append(errs, fmt.Errorf("%s.timezone %q: not an IANA time zone", at, e.TimeZone))
		}
		if !strings.Contains(e.File, "{time}") {
			errs = append(errs, fmt.Errorf("%s.file %q: must contain {time} so runs do not overwrite each other", at, e.File))
		}
		if d := e.Format.Delimiter; len(d) > 1 {
			errs = append(errs, fmt.Errorf("%s.format.delimiter %q: one character", at, d))
		}
		if enc := e.Format.Encoding; enc != "" && enc != "utf-8" && enc != "windows-1252" {
			errs = append(errs, fmt.Errorf("%s.format.encoding %q: utf-8 or windows-1252", at, enc))
		}
	}
	for i, c := range t.Cancellations {
		at := fmt.Sprintf("%s.cancellations[%d]", p, i)
		if c.Name == "" {
			errs = append(errs, errors.New(at+": name is required"))
		}
		if names[c.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate job name %q", at, c.Name))
		}
		names[c.Name] = true
	}
	if _, err := t.tmpJobs(names); err != nil {
		errs = append(errs, err)
	}
	if t.Sincro != nil {
		errs = append(errs, t.Sincro.Validate()...)
		if t.Online == nil {
			errs = append(errs, errors.New(p+".sincro: the rows tuOtempO inserts are booked through the online section, which is missing"))
		}
	}
	if len(t.NotifyTo) > 0 && !hasMail {
		errs = append(errs, errors.New(p+".notify_to: needs the mail section (the SMTP server)"))
	}
	return errs
}

// remoteConfig turns the section's remote into the connectors' form,
// resolving its files (and a local folder) against base, the config's
// folder.
func remoteConfig(r Remote, base string) connectors.RemoteConfig {
	dir := r.Dir
	if r.Kind == "local" {
		dir = rel(base, dir)
	}
	return connectors.RemoteConfig{
		Kind: r.Kind, Host: r.Host, Port: r.Port, User: r.User,
		Password: r.Password, KeyFile: rel(base, r.KeyFile),
		KeyPassphrase: r.KeyPassphrase, KnownHosts: rel(base, r.KnownHosts),
		HostKeyFingerprint: r.HostKeyFingerprint, TLS: r.TLS, CAFile: rel(base, r.CAFile), Dir: dir,
		Timeout: time.Duration(r.Timeout),
	}
}

// rel resolves a relative path against base ("" leaves it as is).
func rel(base, p string) string {
	if p != "" && !filepath.IsAbs(p) && base != "" {
		return filepath.Join(base, p)
	}
	return p
}
