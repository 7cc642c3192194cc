package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/connectors/mail"
)

// Root is the application configuration as a module's New receives it
// (its root argument): the folder of the configuration file and the
// shared sections a vendor may use, in the libraries' own types. A module
// asserts root to Root, never to the command line's config type.
type Root interface {
	// Dir is the folder of the configuration file ("" without one):
	// relative paths of a section (mapping files, key files, a local
	// folder) resolve against it.
	Dir() string
	// MailConfig is the shared mail section (the site's SMTP server, for
	// notices), with its defaults; nil when the section is absent.
	MailConfig() *mail.Config
	// EHRConfig is the shared ehr section (where updated resources are
	// PUT back); nil when the section is absent.
	EHRConfig() *ehr.Endpoint
	// ConfiguredRoutes lists the routes as written, in order.
	ConfiguredRoutes() []ConfiguredRoute
}

// RootOf returns root as a Root, or an error saying what it is (a module
// built by something other than the application).
func RootOf(root any) (Root, error) {
	r, ok := root.(Root)
	if !ok {
		return nil, fmt.Errorf("the application configuration (%T) gives no shared sections (bridge.Root)", root)
	}
	return r, nil
}

// Because words a failed connection test for `check --connect` as
// "phrase: cause": the fault at the end of err's chain without the action
// phrases around it, a network error kept whole ("dial tcp
// 127.0.0.1:22: connect: connection refused"), a timeout said as "no
// answer before the timeout". The result wraps err.
func Because(phrase string, err error) error {
	return Reason(phrase+": "+CauseOf(err).Error(), err)
}

// Reason is err worded as reason for `check --connect`; it wraps err.
func Reason(reason string, err error) error { return &reasonError{reason: reason, err: err} }

// reasonError is a check's failure worded for the operator.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.err }

// ErrTimeout is the cause CauseOf gives for an exchange that ran out of
// time.
var ErrTimeout = errors.New("no answer before the timeout")

// CauseOf returns the fault at the end of err's chain without the action
// phrases around it (connectors.NetCause), or ErrTimeout for a timeout.
func CauseOf(err error) error {
	var t interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &t) && t.Timeout() {
		return ErrTimeout
	}
	return connectors.NetCause(err)
}

// sectionError prefixes err with the module's section, connectors.<name>,
// unless its message names that section (or a key under it) already.
func sectionError(name string, err error) error {
	p := "connectors." + name
	if msg := err.Error(); strings.HasPrefix(msg, p+".") || strings.HasPrefix(msg, p+":") || strings.HasPrefix(msg, p+" ") {
		return err
	}
	return fmt.Errorf("%s: %w", p, err)
}
