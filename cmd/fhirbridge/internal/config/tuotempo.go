package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TuOtempO configures the tuOtempO file feeds: where files go and come
// from, the scheduled exports and the cancellation files polled back.
type TuOtempO struct {
	// Remote is the file server (or local folder) shared with tuOtempO.
	Remote Remote `yaml:"remote"`
	// Exports are the scheduled exports (file only, not environment).
	Exports []Export `yaml:"exports"`
	// Cancellations are the inbound folders polled for cancellation files.
	Cancellations []Cancellations `yaml:"cancellations"`
	// NotifyTo receives the mail notices of this site (needs mail:).
	NotifyTo []string `yaml:"notify_to"`
}

// Remote is an SFTP or FTP server or a local folder.
type Remote struct {
	// Kind is sftp, ftp or local.
	Kind string `yaml:"kind"`
	Host string `yaml:"host"`
	// Port defaults to 22 (sftp) or 21 (ftp).
	Port int    `yaml:"port"`
	User string `yaml:"user"`
	// Password logs in (SFTP may use KeyFile instead).
	Password Secret `yaml:"password"`
	// KeyFile is an SSH private key; KeyPassphrase unlocks it.
	KeyFile       string `yaml:"key_file" security:"true"`
	KeyPassphrase Secret `yaml:"key_passphrase"`
	// KnownHosts (an OpenSSH known_hosts file) or HostKeyFingerprint
	// ("SHA256:…", as ssh-keygen -lf prints) pins the SFTP server's key;
	// one is required.
	KnownHosts         string `yaml:"known_hosts" security:"true"`
	HostKeyFingerprint string `yaml:"host_key_fingerprint" security:"true"`
	// TLS asks FTP for explicit TLS; CAFile adds the CA that signed it.
	TLS    bool   `yaml:"tls" security:"true"`
	CAFile string `yaml:"ca_file" security:"true"`
	// Dir is the base folder on the server, or on disk for local.
	Dir string `yaml:"dir"`
	// Timeout bounds connecting and each operation (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// Export is one scheduled export.
type Export struct {
	// Name identifies the job in the ledger, logs and metrics.
	Name string `yaml:"name"`
	// Mapping is the column set: tuotempo/export (A.1.1),
	// tuotempo/reservations (TT_RESERVATIONS) or tuotempo/resources
	// (TT_RESOURCES).
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
	// export time (default 24h before, 72h after).
	Window Window `yaml:"window"`
	// Format of the CSV.
	Format Format `yaml:"format"`
}

// Window is a span around the export time.
type Window struct {
	Before Duration `yaml:"before"`
	After  Duration `yaml:"after"`
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
	// Dir is the folder on the remote ("" = base); Pattern a glob of
	// file names (default cancellations_*.csv).
	Dir     string `yaml:"dir"`
	Pattern string `yaml:"pattern"`
	// Every is the poll interval (default 1m); MinAge how old a file must
	// be, unchanged across two polls, before it is read (default 1m).
	Every  Duration `yaml:"every"`
	MinAge Duration `yaml:"min_age"`
	// DoneMarker, when set (e.g. ".done"), takes a file as soon as
	// FILE+DoneMarker exists.
	DoneMarker string `yaml:"done_marker"`
	// Mapping is the reverse mapping (default tuotempo/cancellation).
	Mapping string `yaml:"mapping"`
}

// Mail is the site's SMTP server.
type Mail struct {
	Host string `yaml:"host"`
	// Port defaults to 587 (starttls), 465 (implicit) or 25 (none).
	Port int `yaml:"port"`
	// TLS is starttls (default), implicit or none (loopback only).
	TLS string `yaml:"tls" security:"true"`
	// CAFile adds the CA that signed the server's certificate.
	CAFile string `yaml:"ca_file" security:"true"`
	// User and Password authenticate with Auth (plain or login).
	User     string `yaml:"user"`
	Password Secret `yaml:"password"`
	Auth     string `yaml:"auth"`
	// From is the sender address.
	From string `yaml:"from"`
	// Timeout bounds one send (default 30s).
	Timeout Duration `yaml:"timeout"`
}

// EHR is the EHR's FHIR endpoint, where updated resources are PUT.
type EHR struct {
	// FHIRBaseURL is the EHR's FHIR base, e.g. https://ehr.example/fhir.
	FHIRBaseURL string `yaml:"fhir_base_url"`
	// Token is sent as a bearer token.
	Token Secret `yaml:"token"`
}

// fillDefaults fills the tuOtempO section's defaults.
func (t *TuOtempO) fillDefaults() {
	if t.Remote.Timeout == 0 {
		t.Remote.Timeout = Duration(30 * time.Second)
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
			e.Window.Before = Duration(24 * time.Hour)
		}
		if e.Window.After == 0 {
			e.Window.After = Duration(72 * time.Hour)
		}
	}
	for i := range t.Cancellations {
		c := &t.Cancellations[i]
		if c.Pattern == "" {
			c.Pattern = "cancellations_*.csv"
		}
		if c.Every == 0 {
			c.Every = Duration(time.Minute)
		}
		if c.MinAge == 0 {
			c.MinAge = Duration(time.Minute)
		}
		if c.Mapping == "" {
			c.Mapping = "tuotempo/cancellation"
		}
	}
}

// validate checks the tuOtempO section.
func (t *TuOtempO) validate(hasMail bool) []error {
	var errs []error
	const p = "connectors.tuotempo"
	switch r := t.Remote; r.Kind {
	case "sftp":
		if r.Host == "" || r.User == "" {
			errs = append(errs, errors.New(p+".remote: sftp needs host and user"))
		}
		if r.KnownHosts == "" && r.HostKeyFingerprint == "" {
			errs = append(errs, errors.New(p+".remote: sftp needs known_hosts or host_key_fingerprint (the server's host key is always checked)"))
		}
		if !r.Password.Set() && r.KeyFile == "" {
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
	if len(t.NotifyTo) > 0 && !hasMail {
		errs = append(errs, errors.New(p+".notify_to: needs the mail section (the SMTP server)"))
	}
	return errs
}

// validateMailEHR checks the mail and ehr sections.
func (c *Config) validateMailEHR() []error {
	var errs []error
	if m := c.Mail; m != nil {
		if m.Host == "" || m.From == "" {
			errs = append(errs, errors.New("mail: host and from are required"))
		}
		switch m.TLS {
		case "", "starttls", "implicit", "none":
		default:
			errs = append(errs, fmt.Errorf("mail.tls %q: starttls, implicit or none", m.TLS))
		}
		switch m.Auth {
		case "", "plain", "login":
		default:
			errs = append(errs, fmt.Errorf("mail.auth %q: plain or login", m.Auth))
		}
	}
	if e := c.EHR; e != nil {
		if u, err := url.Parse(e.FHIRBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("ehr.fhir_base_url: want an http(s) URL"))
		}
	}
	return errs
}
