package app

// The connection tests of the shared sections (see serviceChecks) and the
// helpers the vendor modules' tests use.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/connectors/mail"
)

// mailChecks: the mail section's SMTP server: connect, STARTTLS or
// implicit TLS, AUTH; no message is sent.
func mailChecks(c *config.Config) ([]connCheck, error) {
	m := c.Mail
	if m == nil {
		return nil, nil
	}
	s, err := newMailSender(m)
	if err != nil {
		return nil, err
	}
	mode := m.TLS
	if mode == "" {
		mode = mail.TLSStartTLS
	}
	detail := mode + ", no AUTH"
	if m.User != "" {
		mech := m.Auth
		if mech == "" {
			mech = mail.AuthPlain
		}
		detail = mode + ", AUTH " + strings.ToUpper(mech)
	}
	return []connCheck{{Name: "smtp", Target: s.Addr(), Run: func(ctx context.Context) (string, error) {
		if err := s.Check(ctx); err != nil {
			return "", err
		}
		return detail + ", no message sent", nil
	}}}, nil
}

// newMailSender builds the Sender of the mail section.
func newMailSender(m *config.Mail) (*mail.Sender, error) {
	s, err := mail.New(mail.Config{Host: m.Host, Port: m.Port, TLS: m.TLS, CAFile: m.CAFile, User: m.User,
		Password: connectors.Secret(m.Password.Reveal()), Auth: m.Auth, From: m.From, Timeout: time.Duration(m.Timeout)})
	if err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return s, nil
}

// ehrChecks: with ehr.smart, a SMART token first (the token endpoint
// discovered unless configured); then GET {fhir_base_url}/metadata with
// the bearer token. Only statuses and OAuth error codes are reported,
// never a token or the assertion.
func ehrChecks(c *config.Config) ([]connCheck, error) {
	e := c.EHR
	if e == nil || e.FHIRBaseURL == "" {
		return nil, nil
	}
	u, err := url.Parse(strings.TrimRight(e.FHIRBaseURL, "/") + "/metadata")
	if err != nil {
		return nil, errors.New("ehr: fhir_base_url is not a URL")
	}
	base := *u
	base.Path, base.RawPath = strings.TrimSuffix(u.Path, "/metadata"), ""
	token := e.Token.Reveal()
	var tokens ehr.TokenSource
	if ep := c.EHRConfig(); ep != nil {
		tokens = ep.Tokens
	}
	return []connCheck{{Name: "ehr", Target: base.Redacted(), Run: func(ctx context.Context) (string, error) {
		prefix := ""
		if tokens != nil {
			tok, err := tokens.Token(ctx)
			if err != nil {
				return "", fmt.Errorf("SMART token: %w", err)
			}
			token, prefix = tok, "SMART token issued, "
		}
		got, err := probeEHR(ctx, u, token)
		if err != nil && prefix != "" {
			return "", fmt.Errorf("%s%w", prefix, err)
		}
		return prefix + got, err
	}}}, nil
}

// probeEHR asks for the CapabilityStatement and reports the status.
func probeEHR(ctx context.Context, u *url.URL, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("building GET /metadata: %w", err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL
		}
		return "", bridge.Because("GET /metadata: cannot reach the EHR", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	s := resp.StatusCode
	if s >= 200 && s < 300 {
		return fmt.Sprintf("GET /metadata: %d %s", s, http.StatusText(s)), nil
	}
	reason := fmt.Sprintf("HTTP %d %s", s, http.StatusText(s))
	switch {
	case s == http.StatusUnauthorized:
		reason = "HTTP 401: the bearer token was refused"
	case s == http.StatusForbidden:
		reason = "HTTP 403: the bearer token may not read the CapabilityStatement"
	case s == http.StatusNotFound:
		reason = "HTTP 404: no /metadata at fhir_base_url (is it the FHIR base?)"
	case s >= 300 && s < 400:
		reason = fmt.Sprintf("HTTP %d: the EHR redirects (check fhir_base_url)", s)
	case s >= 500:
		reason = fmt.Sprintf("HTTP %d: the EHR is unavailable (%s)", s, http.StatusText(s))
	}
	return "", errors.New("GET /metadata: " + reason)
}
