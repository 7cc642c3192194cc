package config

import (
	"errors"
	"fmt"
	"net/url"
)

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
