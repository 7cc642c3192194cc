package config

import (
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/connectors/mail"
)

// Config is what vendor modules get as their root (bridge.Root): the
// config's folder and the shared mail and ehr sections.
var _ bridge.Root = (*Config)(nil)

// MailConfig is the mail section as the mail library takes it; nil
// without one.
func (c *Config) MailConfig() *mail.Config {
	m := c.Mail
	if m == nil {
		return nil
	}
	return &mail.Config{Host: m.Host, Port: m.Port, TLS: m.TLS, CAFile: m.CAFile, User: m.User,
		Password: connectors.Secret(m.Password.Reveal()), Auth: m.Auth, From: m.From, Timeout: time.Duration(m.Timeout)}
}

// EHRConfig is the ehr section as the EHR connector's endpoint; nil
// without one. With ehr.smart, every endpoint returned shares the one
// token source Validate built, so the token is fetched once and renewed
// for all the flows.
func (c *Config) EHRConfig() *ehr.Endpoint {
	e := c.EHR
	if e == nil {
		return nil
	}
	ep := &ehr.Endpoint{BaseURL: e.FHIRBaseURL, Token: connectors.Secret(e.Token.Reveal())}
	if e.tokens != nil { // one token source for every user of the section
		ep.Tokens = e.tokens
	}
	return ep
}
