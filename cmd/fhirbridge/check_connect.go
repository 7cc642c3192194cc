package main

// `fhirbridge check --connect`: every configured connector is tried for
// real, concurrently, each within checkTimeout, and reported on one line
// in a stable order:
//
//	ok   solo (GET /qapi/v1/waiting-rooms: 3 rooms)
//	FAIL sftp files.example:22: host key mismatch: server presented ...
//
// The checks come from the configured vendor modules (bridge
// ConnectionChecker), then from serviceChecks (mail, EHR);
// a connector that implements connectors.Checker (and optionally Probe,
// for a description of what it saw) is checked by bridge.ConnectorCheck.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// checkTimeout bounds each connection test; tests shorten it.
var checkTimeout = 10 * time.Second

// connCheck is one connection test (bridge.Check): the vendor modules'
// and the shared services'.
type connCheck = bridge.Check

// serviceChecks build the checks of the shared sections (not vendors),
// printed after the vendor modules' in this order; a source returns nil
// when its section is not configured.
var serviceChecks = []func(c *config.Config) ([]connCheck, error){
	mailChecks,
	ehrChecks,
}

// checkConnect loads configFile, runs every connection test concurrently
// and prints one line each, in order, then the follow-ups of those that
// succeeded. It returns an error (already printed) when any failed.
func checkConnect(ctx context.Context, configFile string, out, errOut io.Writer) error {
	c, err := config.Load(configFile, os.Environ())
	if err != nil {
		return err
	}
	mods, err := modules(c)
	if err != nil {
		return err
	}
	checks, err := mods.ConnectionChecks()
	if err != nil {
		return err
	}
	for _, src := range serviceChecks {
		cs, err := src(c)
		if err != nil {
			return err
		}
		checks = append(checks, cs...)
	}
	if len(checks) == 0 {
		fmt.Fprintln(out, "ok   --connect: no connector configured, nothing to connect to")
		return nil
	}
	errs := runChecks(ctx, checks)
	failed := 0
	for i, ch := range checks {
		fmt.Fprintln(out, checkLine(ch, errs[i].detail, errs[i].err))
		if errs[i].err != nil {
			failed++
		}
	}
	for i, ch := range checks {
		if errs[i].err != nil || ch.After == nil {
			continue
		}
		actx, cancel := context.WithTimeout(ctx, checkTimeout)
		err := ch.After(actx, out)
		cancel()
		if err != nil {
			fmt.Fprintln(errOut, err)
			failed++
		}
	}
	if failed > 0 {
		return errChecksFailed
	}
	return nil
}

// errChecksFailed is returned once the failures were printed.
var errChecksFailed = errors.New("connection checks failed")

// checkResult is the outcome of one check.
type checkResult struct {
	detail string
	err    error
}

// runChecks runs every check at once, each under its own timeout, and
// returns the outcomes in the checks' order.
func runChecks(ctx context.Context, checks []connCheck) []checkResult {
	res := make([]checkResult, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			res[i].detail, res[i].err = ch.Run(cctx)
		})
	}
	wg.Wait()
	return res
}

// checkLine formats one outcome: "ok   name target (detail)" or
// "FAIL name target: reason".
func checkLine(ch connCheck, detail string, err error) string {
	what := ch.Name
	if ch.Target != "" {
		what += " " + ch.Target
	}
	if err != nil {
		return "FAIL " + what + ": " + err.Error()
	}
	if detail != "" {
		what += " (" + detail + ")"
	}
	return "ok   " + what
}

// reasonError is a check's failure worded for the operator; it wraps the
// classified cause.
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.err }

// because wraps err under a reason: "phrase: cause".
func because(phrase string, err error) error {
	return &reasonError{reason: phrase + ": " + causeOf(err).Error(), err: err}
}

// causeOf returns the fault at the end of err's chain without the action
// phrases around it, keeping a network error whole ("dial tcp
// 127.0.0.1:22: connect: connection refused"); a timeout is said so.
func causeOf(err error) error {
	if isTimeout(err) {
		return errTimeout
	}
	return connectors.NetCause(err)
}

// errTimeout is the cause shown for a check that ran out of time.
var errTimeout = errors.New("no answer before the timeout")

// isTimeout reports an exchange that ran out of time.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &t) && t.Timeout()
}
