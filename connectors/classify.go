// Package connectors holds what every vendor connector shares: the
// classification of delivery failures and the registry through which
// connectors make themselves known by name (GUIDE §3: register, don't
// switch). Vendor packages live below it (connectors/<vendor>) and never
// import one another.
package connectors

import (
	"errors"
	"fmt"
	"time"
)

// Class says what a delivery failure means for the message.
type Class int

// The failure classes (GUIDE §3.5).
const (
	// Transient: retry later with backoff (network faults, 5xx, 429).
	Transient Class = iota
	// Permanent: retrying cannot help (the vendor refused the content);
	// the message is dead-lettered with the reason.
	Permanent
	// Reconnect: the session or credentials must be renewed before any
	// retry (401, a dropped SFTP session); messages stay pending.
	Reconnect
)

var classNames = [...]string{"transient", "permanent", "reconnect"}

// String names the class.
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Failure is a classified delivery error. Its message must carry no
// patient value: connectors build it from status codes, paths and their
// own words.
type Failure struct {
	Class Class
	// RetryAfter is the vendor's requested wait (Retry-After), or 0.
	RetryAfter time.Duration
	Err        error
}

func (f *Failure) Error() string {
	if f.RetryAfter > 0 {
		return fmt.Sprintf("%s failure (retry after %s): %v", f.Class, f.RetryAfter, f.Err)
	}
	return fmt.Sprintf("%s failure: %v", f.Class, f.Err)
}

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Err }

// Permanently marks err as not worth retrying.
func Permanently(err error) error { return &Failure{Class: Permanent, Err: err} }

// Transiently marks err as worth retrying, after retryAfter when the
// vendor asked for a wait (0 otherwise).
func Transiently(err error, retryAfter time.Duration) error {
	return &Failure{Class: Transient, RetryAfter: retryAfter, Err: err}
}

// NeedsReconnect marks err as needing a new session or credentials.
func NeedsReconnect(err error) error { return &Failure{Class: Reconnect, Err: err} }

// Classify returns the class of err and the wait the vendor asked for.
// An error nobody classified is Transient: losing a message to an
// unforeseen error is worse than retrying it.
func Classify(err error) (Class, time.Duration) {
	var f *Failure
	if errors.As(err, &f) {
		return f.Class, f.RetryAfter
	}
	return Transient, 0
}
