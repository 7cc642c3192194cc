package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// CheckError is a failed Check: the step that failed and a reason in the
// words of the SMTP RFCs where the server replied (RFC 5321 for the
// session, RFC 3207 for STARTTLS, RFC 4954 for AUTH). It names neither
// the host (the caller does) nor the password, and wraps the classified
// cause (a *ReplyError when the server replied), so connectors.Classify
// and errors.As see through it.
type CheckError struct {
	// Step is "connect", "starttls", "tls handshake", "greeting" or "auth".
	Step string
	// Reason says what went wrong.
	Reason string
	// Err is the classified cause.
	Err error
}

// Error returns the step and the reason.
func (e *CheckError) Error() string { return e.Step + ": " + e.Reason }

// Unwrap returns the classified cause.
func (e *CheckError) Unwrap() error { return e.Err }

// Check tests the server without sending a message: it connects, sets up
// TLS as configured (STARTTLS, refusing a server that does not offer it,
// or implicit TLS), says EHLO, authenticates when User is set, and quits.
// Errors are a *CheckError classified as Send's are; ctx cancels the
// exchange and Config.Timeout bounds it. It is safe for concurrent use.
func (s *Sender) Check(ctx context.Context) error {
	ss, step, err := s.open(ctx)
	if err != nil {
		if step == stepGreeting {
			switch s.cfg.tlsMode() {
			case TLSStartTLS:
				step = stepStartTLS
			case TLSImplicit:
				step = stepTLS
			}
		}
		return checkFailure(step, err)
	}
	defer ss.close()
	c := ss.c
	if err := s.authenticate(c); err != nil {
		return checkFailure(stepAuth, s.failCtx(ss.ctx, ss.deadline, err))
	}
	_ = c.Quit() // nothing was asked of the server; a failed QUIT changes nothing
	return nil
}

// checkFailure wraps a classified error of step into a *CheckError.
func checkFailure(step string, err error) error {
	var re *ReplyError
	if errors.As(err, &re) {
		return &CheckError{Step: re.Step, Reason: replyReason(re), Err: err}
	}
	switch {
	case errors.Is(err, errNoMechanism), errors.Is(err, errClearAuth):
		return &CheckError{Step: step, Reason: innermost(err, errNoMechanism, errClearAuth), Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &CheckError{Step: step, Reason: "no answer before the timeout", Err: err}
	}
	return &CheckError{Step: step, Reason: causeOf(err).Error(), Err: err}
}

// innermost returns the message of the deepest error of err's chain that
// still matches one of targets: the phrase naming what failed, without
// the host the outer wrappers add.
func innermost(err error, targets ...error) string {
	msg := err.Error()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, t := range targets {
			if errors.Is(e, t) {
				msg = e.Error()
			}
		}
	}
	return msg
}

// causeOf returns the last error of a single-wrap chain that is not a
// classification or a wrapper adding only a phrase: the network or TLS
// fault itself ("connection refused", "x509: certificate signed by
// unknown authority", "smtp: server doesn't support STARTTLS").
func causeOf(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		if _, ok := err.(*net.OpError); ok {
			return err // "dial tcp 127.0.0.1:25: connect: connection refused"
		}
		err = next
	}
}

// replyReason words a server's refusal after the RFC that defines its
// code, with the code and enhanced code as sent.
func replyReason(re *ReplyError) string {
	code := fmt.Sprint(re.Code)
	if re.Enhanced != "" {
		code += " " + re.Enhanced
	}
	return code + " " + replyMeaning(re.Step, re.Code)
}

func replyMeaning(step string, code int) string {
	switch {
	case step == stepAuth && code == 535:
		return "authentication credentials invalid (RFC 4954)"
	case code == 534:
		return "authentication mechanism is too weak (RFC 4954)"
	case code == 538:
		return "encryption required for requested authentication mechanism (RFC 4954)"
	case code == 530:
		return "authentication required (RFC 4954)"
	case step == stepAuth && code == 454:
		return "temporary authentication failure (RFC 4954)"
	case step == stepAuth && code == 504:
		return "unrecognized authentication type (RFC 4954)"
	case step == stepStartTLS && code == 454:
		return "TLS not available due to temporary reason (RFC 3207)"
	case code == 421:
		return "service not available, closing transmission channel (RFC 5321)"
	case code == 554 && (step == stepGreeting || step == stepStartTLS):
		return "no SMTP service here (RFC 5321)"
	case code/100 == 4:
		return "the server refused for now; try again later (RFC 5321)"
	default:
		return "the server refused (RFC 5321)"
	}
}

// Addr is the server's host:port, the configured port or the TLS mode's
// default, as Check and Send dial it.
func (s *Sender) Addr() string { return s.addr }
