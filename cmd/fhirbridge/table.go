package main

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
)

// noValue is what a table cell shows when there is nothing to show (a
// dead letter has no next run).
const noValue = "—"

// detailWidth is the widest free-text cell (a delivery's last error, a
// ledger entry's detail) of a list table; `show` prints the whole text.
const detailWidth = 80

// cell makes s one table cell: every run of white space (new lines, tabs,
// which would break a tabwriter table) becomes one space, and text longer
// than max runes is cut to max with a trailing "…" (max 0: no cut).
func cell(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimRight(string(r[:max-1]), " ") + "…"
	}
	return s
}

// nextRun is when job j runs next: only a pending job has a time; every
// other state (in flight, dead-lettered, delivered, discarded) shows "—".
func nextRun(j delivery.JobInfo) string {
	if j.State != delivery.StatePending || j.RunAt.IsZero() {
		return noValue
	}
	return j.RunAt.UTC().Format(time.RFC3339)
}
