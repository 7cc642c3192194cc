package config

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Console is the section console: the operator's web console (package
// batch/console), served under /console/ on the FHIR listener or on its
// own address.
type Console struct {
	// Enabled is auto (the default: on when at least one console user
	// exists, see `fhirbridge console user add`), true or false.
	Enabled string `yaml:"enabled"`
	// Listen is the console's own host:port; empty (the default) serves it
	// on server.listen. It uses server.tls when that is set. Session
	// cookies are Secure except over plain HTTP from loopback, so beyond
	// loopback the browser must reach it over HTTPS (server.tls or a
	// TLS-terminating proxy).
	Listen string `yaml:"listen"`
	// IdleTimeout ends a session unused this long (default 30m, from 1m
	// to 24h).
	IdleTimeout Duration `yaml:"idle_timeout"`
	// AbsoluteTimeout ends a session this long after its login, used or
	// not (default 12h, at least idle_timeout, at most 7 days).
	AbsoluteTimeout Duration `yaml:"absolute_timeout"`
}

// Values of console.enabled.
const (
	ConsoleAuto  = "auto"
	ConsoleTrue  = "true"
	ConsoleFalse = "false"
)

// Defaults of the console section.
const (
	DefaultConsoleIdleTimeout     = 30 * time.Minute
	DefaultConsoleAbsoluteTimeout = 12 * time.Hour
)

// fillConsoleDefaults fills the zero fields of the console section.
func (c *Config) fillConsoleDefaults() {
	k := &c.Console
	if k.Enabled == "" {
		k.Enabled = ConsoleAuto
	}
	if k.IdleTimeout == 0 {
		k.IdleTimeout = Duration(DefaultConsoleIdleTimeout)
	}
	if k.AbsoluteTimeout == 0 {
		k.AbsoluteTimeout = Duration(DefaultConsoleAbsoluteTimeout)
	}
}

// validateConsole checks the console section.
func (c *Config) validateConsole() []error {
	k := c.Console
	var errs []error
	switch k.Enabled {
	case ConsoleAuto, ConsoleTrue, ConsoleFalse:
	default:
		errs = append(errs, fmt.Errorf("console.enabled %q: want auto, true or false", k.Enabled))
	}
	if k.Listen != "" {
		_, port, err := net.SplitHostPort(k.Listen)
		if err != nil {
			errs = append(errs, fmt.Errorf("console.listen %q: want host:port", k.Listen))
		} else if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("console.listen %q: port %q is not 1-65535 (or 0: any free port)", k.Listen, port))
		}
		if k.Listen == c.Server.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("console.listen %q: the same address as server.listen (leave console.listen empty to serve the console there)", k.Listen))
		}
		if k.Listen == c.HL7v2.Listen && port != "0" {
			errs = append(errs, fmt.Errorf("console.listen %q: the same address as hl7v2.listen", k.Listen))
		}
	}
	idle, abs := time.Duration(k.IdleTimeout), time.Duration(k.AbsoluteTimeout)
	if idle < time.Minute || idle > 24*time.Hour {
		errs = append(errs, fmt.Errorf("console.idle_timeout %s: from 1m to 24h", idle))
	}
	if abs < idle || abs > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("console.absolute_timeout %s: from console.idle_timeout (%s) to 168h", abs, idle))
	}
	return errs
}

// consoleSummary is the console's part of ServeSummary.
func (c *Config) consoleSummary() string {
	k := c.Console
	if k.Enabled == ConsoleFalse {
		return "console OFF (console.enabled: false)"
	}
	where := "/console/ on " + c.Server.Listen
	if k.Listen != "" {
		where = "/console/ on " + k.Listen
	}
	when := "on"
	if k.Enabled != ConsoleTrue {
		when = "auto: on once a console user exists (fhirbridge console user list)"
	}
	return fmt.Sprintf("console %s at %s, sessions idle %s, absolute %s", when, where,
		time.Duration(k.IdleTimeout), time.Duration(k.AbsoluteTimeout))
}
