package app

// `fhirbridge check --connect`: every configured connector is tried for
// real, concurrently, each within CheckTimeout, and reported on one line
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
	"github.com/fhirbridge/fhirbridge/batch/config"
)

// CheckTimeout bounds each connection test; tests shorten it.
var CheckTimeout = 10 * time.Second

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

// CheckConnect loads configFile, runs every connection test concurrently
// and prints one line each, in order, then the follow-ups of those that
// succeeded. It returns an error (already printed) when any failed.
func CheckConnect(ctx context.Context, configFile string, out, errOut io.Writer) error {
	c, err := config.Load(configFile, os.Environ())
	if err != nil {
		return err
	}
	mods, err := Modules(c)
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
		actx, cancel := context.WithTimeout(ctx, CheckTimeout)
		err := ch.After(actx, out)
		cancel()
		if err != nil {
			fmt.Fprintln(errOut, err)
			failed++
		}
	}
	if failed > 0 {
		return ErrChecksFailed
	}
	return nil
}

// ErrChecksFailed is returned by CheckConnect once the failures were printed.
var ErrChecksFailed = errors.New("connection checks failed")

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
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
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
