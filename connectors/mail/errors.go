package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/emersion/go-smtp"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// ReplyError is an SMTP server's refusal: the host, the protocol step and
// the reply codes. The server's free text is left out on purpose: servers echo
// addresses and content in it.
type ReplyError struct {
	// Host is the server's host:port.
	Host string
	// Step is the SMTP step the server refused: "greeting" (greeting and
	// EHLO), "starttls" (greeting, EHLO and STARTTLS in starttls mode),
	// "tls handshake", "auth", "mail", "rcpt" or "data".
	Step string
	// Code is the three-digit reply code, e.g. 550.
	Code int
	// Enhanced is the RFC 3463 enhanced status code, e.g. "5.1.1", or "".
	Enhanced string
	// Recipient is the 1-based index of the refused recipient in
	// Message.To (step "rcpt"), else 0.
	Recipient int
}

func (e *ReplyError) Error() string {
	s := fmt.Sprintf("smtp server %s refused %s with %d", e.Host, e.Step, e.Code)
	if e.Enhanced != "" {
		s += " (" + e.Enhanced + ")"
	}
	if e.Recipient > 0 {
		s += fmt.Sprintf(" for recipient %d", e.Recipient)
	}
	return s
}

// Temporary reports whether the server asked to try again later (4xx).
func (e *ReplyError) Temporary() bool { return e.Code/100 == 4 }

// SMTP steps named in errors.
const (
	stepConnect  = "connect"
	stepGreeting = "greeting"
	stepStartTLS = "starttls" // greeting, EHLO and STARTTLS in starttls mode
	stepTLS      = "tls handshake"
	stepAuth     = "auth"
	stepMail     = "mail"
	stepRcpt     = "rcpt"
	stepData     = "data"
)

// fail wraps err from step in a classified error naming host and step.
// A server reply becomes a *ReplyError without its free text; other
// errors (network, TLS) are wrapped with %w. Network faults are transient;
// an untrusted certificate, or a server that cannot do the TLS asked for,
// needs a reconnect.
func fail(host, step string, rcpt int, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		re := &ReplyError{Host: host, Step: step, Code: se.Code, Recipient: rcpt}
		if ec := se.EnhancedCode; ec != smtp.EnhancedCodeNotSet && ec != smtp.NoEnhancedCode {
			re.Enhanced = fmt.Sprintf("%d.%d.%d", ec[0], ec[1], ec[2])
		}
		return classifyReply(re)
	}
	wrapped := fmt.Errorf("sending mail via %s (%s): %w", host, step, err)
	if isTrustError(err) || (step == stepTLS || step == stepStartTLS) && !isNetwork(err) {
		return connectors.NeedsReconnect(wrapped)
	}
	return connectors.Transiently(wrapped, 0)
}

// classifyReply: 4xx is transient; an authentication refusal (any 5xx at
// AUTH, 530/534/535/538 anywhere, or a 5.7.x security refusal of MAIL,
// which is how servers say "authenticate first") and a 5xx before MAIL
// (the server refuses the session or STARTTLS) need a reconnect; any
// other 5xx to MAIL, RCPT or DATA refuses this message and is permanent.
func classifyReply(re *ReplyError) error {
	err := fmt.Errorf("sending mail: %w", re)
	switch {
	case re.Code/100 == 4:
		return connectors.Transiently(err, 0)
	case re.Step == stepAuth, re.Code == 530, re.Code == 534, re.Code == 535, re.Code == 538,
		re.Step == stepMail && strings.HasPrefix(re.Enhanced, "5.7."):
		return connectors.NeedsReconnect(err)
	case re.Step == stepMail, re.Step == stepRcpt, re.Step == stepData:
		return connectors.Permanently(err)
	default:
		return connectors.NeedsReconnect(err)
	}
}

// isNetwork reports a fault of the connection itself (refused, reset,
// timed out, closed early), which a later attempt may not meet.
func isNetwork(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// isTrustError reports a TLS certificate the client does not trust: an
// operator must fix CAFile or the server, retrying alone cannot help.
func isTrustError(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	return !errors.Is(err, context.Canceled) &&
		(errors.As(err, &unknown) || errors.As(err, &hostname) ||
			errors.As(err, &invalid) || errors.As(err, &verify))
}
