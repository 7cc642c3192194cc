package mail

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// Message is one mail: its recipients, a one-line subject and a plain-text
// body. Send renders it as text/plain UTF-8; the body's line ends may be
// LF or CRLF.
type Message struct {
	// To lists the recipients, each "local@domain" or
	// "Name <local@domain>"; at least one, at most MaxRecipients.
	To []string
	// Subject is one line of at most MaxSubjectLen bytes, no CR or LF.
	Subject string
	// Body is the UTF-8 text of the mail.
	Body string
}

// Limits on a Message.
const (
	// MaxRecipients is the most recipients one Message may have (the
	// minimum a server must accept, RFC 5321 4.5.3.1.8).
	MaxRecipients = 100
	// MaxSubjectLen caps Message.Subject in bytes, so that a header line
	// stays under RFC 5322's 998-byte limit.
	MaxSubjectLen = 900
)

// errMessage is the cause of every Message refusal except injection.
var errMessage = errors.New("invalid message")

// recipients checks m and returns its parsed recipients. Errors name the
// field (and the recipient's index) but never echo a value.
func (m Message) recipients() ([]*mail.Address, error) {
	if len(m.To) == 0 {
		return nil, fmt.Errorf("%w: no recipient", errMessage)
	}
	if len(m.To) > MaxRecipients {
		return nil, fmt.Errorf("%w: %d recipients, at most %d", errMessage, len(m.To), MaxRecipients)
	}
	to := make([]*mail.Address, len(m.To))
	for i, s := range m.To {
		a, err := parseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("checking recipient %d: %w", i+1, err)
		}
		to[i] = a
	}
	if err := checkSubject(m.Subject); err != nil {
		return nil, fmt.Errorf("checking subject: %w", err)
	}
	if !utf8.ValidString(m.Body) {
		return nil, fmt.Errorf("%w: body is not UTF-8", errMessage)
	}
	return to, nil
}

func checkSubject(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return ErrHeaderInjection
	}
	if len(s) > MaxSubjectLen {
		return fmt.Errorf("%w: subject longer than %d bytes", errMessage, MaxSubjectLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: subject is not UTF-8", errMessage)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return fmt.Errorf("%w: control character in the subject", errMessage)
		}
	}
	return nil
}
