package config

import (
	"crypto"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
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

// EHR is the EHR's FHIR endpoint, where updated resources are written
// back. It authenticates with exactly one of Token and SMART.
type EHR struct {
	// FHIRBaseURL is the EHR's FHIR base, e.g. https://ehr.example/fhir.
	FHIRBaseURL string `yaml:"fhir_base_url"`
	// Token is sent as a static bearer token.
	Token Secret `yaml:"token"`
	// SMART obtains short-lived tokens through SMART Backend Services.
	SMART *SMART `yaml:"smart"`

	tokens *smart.Source // built by validation from SMART
}

// SMART is the ehr.smart section: the bridge's registration as a SMART
// Backend Services client of the EHR.
type SMART struct {
	// ClientID is the client id the EHR registered for the bridge.
	ClientID string `yaml:"client_id"`
	// PrivateKey is the PEM private key (PKCS#1, PKCS#8 or SEC1) that
	// signs the client assertions; its public key is in the JWKS the EHR
	// knows (uploaded or at a JWKS URL).
	PrivateKey Secret `yaml:"private_key"`
	// KeyID is the kid of the key in that JWKS (sent in the assertion's
	// header; optional but most EHRs need it).
	KeyID string `yaml:"key_id"`
	// Alg is RS384 or ES384.
	Alg string `yaml:"alg"`
	// Scopes are the scopes asked for (smart.DefaultScopes when empty).
	Scopes []string `yaml:"scopes"`
	// TokenURL is the token endpoint; empty discovers it from
	// {fhir_base_url}/.well-known/smart-configuration.
	TokenURL string `yaml:"token_url"`
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
		baseOK := true
		if u, err := url.Parse(e.FHIRBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, errors.New("ehr.fhir_base_url: want an http(s) URL"))
			baseOK = false
		}
		switch {
		case e.Token.Set() && e.SMART != nil:
			errs = append(errs, errors.New("ehr: token and smart are exclusive: a static bearer token or SMART Backend Services, not both"))
		case e.SMART != nil && baseOK:
			errs = append(errs, e.buildSMART()...)
		}
	}
	return errs
}

// buildSMART checks the ehr.smart section, each error naming its key,
// and builds the token source the EHR endpoint uses.
func (e *EHR) buildSMART() []error {
	s := e.SMART
	var errs []error
	if s.ClientID == "" {
		errs = append(errs, errors.New("ehr.smart.client_id: required (the client id the EHR registered for the bridge)"))
	}
	if s.Alg != smart.RS384 && s.Alg != smart.ES384 {
		errs = append(errs, fmt.Errorf("ehr.smart.alg %q: want RS384 or ES384", s.Alg))
	}
	if s.TokenURL != "" {
		if err := smart.CheckURL(s.TokenURL); err != nil {
			errs = append(errs, fmt.Errorf("ehr.smart.token_url: %w", err))
		}
	}
	for i, sc := range s.Scopes {
		if sc == "" || strings.ContainsAny(sc, " \t\r\n\"\\") {
			errs = append(errs, fmt.Errorf("ehr.smart.scopes[%d]: one scope per entry, no spaces or quotes", i))
		}
	}
	var key crypto.Signer
	switch {
	case !s.PrivateKey.Set():
		errs = append(errs, errors.New("ehr.smart.private_key: required, {file: PATH} of a PEM private key"))
	case s.Alg == smart.RS384 || s.Alg == smart.ES384:
		k, err := smart.ParsePrivateKey([]byte(s.PrivateKey.Reveal()), s.Alg)
		if err != nil {
			errs = append(errs, fmt.Errorf("ehr.smart.private_key (%s): %w", s.PrivateKey.Source(), err))
		}
		key = k
	}
	if len(errs) > 0 {
		return errs
	}
	src, err := smart.New(smart.Config{BaseURL: e.FHIRBaseURL, TokenURL: s.TokenURL, ClientID: s.ClientID,
		KeyID: s.KeyID, Alg: s.Alg, Key: key, Scopes: s.Scopes})
	if err != nil {
		return []error{fmt.Errorf("ehr.smart: %w", err)}
	}
	e.tokens = src
	return nil
}
