package export

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// ErrSchedule is matched by the errors of ParseSchedule.
var ErrSchedule = errors.New("invalid schedule")

// Schedule says when an export job runs: a cron expression read as local
// wall-clock time in an IANA time zone. It is DST-safe, unlike cron
// libraries that work on instants:
//
//   - a local time that does not exist (spring forward: 02:30 on
//     2026-03-29 in Europe/Madrid) runs once, at the first instant after
//     the gap (03:00 local);
//   - a local time that happens twice (fall back: 02:30 on 2026-10-25)
//     runs once, at the first of the two.
//
// Each run is a Slot named by its nominal local time, which the Runner
// records so that no slot runs twice. A Schedule is immutable.
type Schedule struct {
	expr string
	loc  *time.Location
	spec *cron.SpecSchedule // evaluated on wall-clock time written as UTC
}

// Slot is one scheduled run.
type Slot struct {
	// At is the instant the run is due.
	At time.Time
	// Key names the slot by its nominal local time and zone,
	// "2026-10-25T02:30 Europe/Madrid": the same on both passes of a
	// repeated hour, so a slot is recognised however often it comes up.
	Key string
}

// ParseSchedule parses a standard five-field cron expression ("30 2 * * *")
// or a descriptor (@daily, @hourly, @weekly, @monthly, @yearly) in the
// IANA zone (e.g. "Europe/Madrid"; "" means UTC). The expression may not
// carry its own CRON_TZ/TZ prefix: the zone is the separate argument.
// "@every D" is refused: its runs depend on when the bridge started, so
// slots could not be recognised across restarts ("0 */4 * * *" runs every
// four hours on the clock).
func ParseSchedule(expr, zone string) (*Schedule, error) {
	if strings.Contains(expr, "TZ=") {
		return nil, fmt.Errorf("%w: give the time zone separately, not in %q", ErrSchedule, expr)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "Local" {
		return nil, fmt.Errorf("%w: unknown time zone %q", ErrSchedule, zone)
	}
	sched, err := parseCron(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrSchedule, expr, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%w: %q: @every is not anchored to the clock; write a cron expression", ErrSchedule, expr)
	}
	spec.Location = time.UTC
	s := &Schedule{expr: expr, loc: loc, spec: spec}
	ref := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if s.Next(ref).IsZero() {
		return nil, fmt.Errorf("%w: %q never fires", ErrSchedule, expr)
	}
	return s, nil
}

// parseCron parses with robfig/cron, turning a panic on odd input into an
// error.
func parseCron(expr string) (s cron.Schedule, err error) {
	defer func() {
		if recover() != nil {
			s, err = nil, errors.New("cannot parse")
		}
	}()
	return cron.ParseStandard(expr)
}

// String returns the expression and zone.
func (s *Schedule) String() string { return s.expr + " " + s.loc.String() }

// Location returns the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next returns the first run strictly after after, or the zero time when
// the expression never fires again.
func (s *Schedule) Next(after time.Time) time.Time { return s.NextSlot(after).At }

// NextSlot returns the first slot due strictly after after (the zero Slot
// when there is none).
func (s *Schedule) NextSlot(after time.Time) Slot {
	n := s.spec.Next(wall(after, s.loc))
	for i := 0; i < 10000 && !n.IsZero(); i++ {
		if t := s.instant(n); t.After(after) {
			return Slot{At: t, Key: n.Format("2006-01-02T15:04") + " " + s.loc.String()}
		}
		n = s.spec.Next(n)
	}
	return Slot{}
}

// wall returns t's local wall-clock time in loc, written as a UTC time.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// instant returns the first instant whose wall clock in s.loc is n (a wall
// time written as UTC); when n falls in a gap, the instant the gap ends.
func (s *Schedule) instant(n time.Time) time.Time {
	var first time.Time
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := n.Add(probe).In(s.loc).Zone()
		t := n.Add(-time.Duration(off) * time.Second)
		if wall(t, s.loc).Equal(n) && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if !first.IsZero() {
		return first
	}
	// a gap: read n with the offset in force before it; that instant lies
	// after the transition, whose start is the end of the gap
	_, off := n.Add(-36 * time.Hour).In(s.loc).Zone()
	start, _ := n.Add(-time.Duration(off) * time.Second).In(s.loc).ZoneBounds()
	return start
}
