package server

import (
	"errors"
	"strings"
	"time"
)

// DateParam is one value of a FHIR date search parameter
// (https://hl7.org/fhir/R4/search.html#date): a prefix and the interval
// [Lo, Hi) that the value's precision covers (2024-05-01 covers the whole
// day, 2024-05-01T09:00:00Z one second).
type DateParam struct {
	// Prefix is eq, ne, gt, lt, ge, le, sa, eb or ap ("eq" when none was
	// written).
	Prefix string
	// Lo is the start of the value's interval, Hi its exclusive end.
	Lo, Hi time.Time
}

// errDate is the fixed, value-free error of ParseDateParam.
var errDate = errors.New("a date search value is [prefix]YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] with a time zone (Z or ±hh:mm)")

// ParseDateParam parses a date search value such as "ge2024-05-01" or
// "lt2024-05-01T10:00:00+02:00". Dates without a time are read in loc
// (UTC when nil), as FHIR leaves that zone to the server; a time must
// carry its zone. The error never quotes s.
func ParseDateParam(s string, loc *time.Location) (DateParam, error) {
	if loc == nil {
		loc = time.UTC
	}
	p := DateParam{Prefix: "eq"}
	if len(s) >= 2 {
		switch pre := s[:2]; pre {
		case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap":
			p.Prefix, s = pre, s[2:]
		}
	}
	type layout struct {
		layout string
		step   func(time.Time) time.Time
	}
	layouts := []layout{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
	}
	for _, l := range layouts {
		if len(s) == len(l.layout) {
			t, err := time.ParseInLocation(l.layout, s, loc)
			if err != nil {
				return DateParam{}, errDate
			}
			p.Lo, p.Hi = t, l.step(t)
			return p, nil
		}
	}
	if !strings.Contains(s, "T") {
		return DateParam{}, errDate
	}
	if t, err := time.Parse("2006-01-02T15:04Z07:00", s); err == nil {
		p.Lo, p.Hi = t, t.Add(time.Minute)
		return p, nil
	}
	t, err := time.Parse(time.RFC3339, s) // also takes fractional seconds
	if err != nil {
		return DateParam{}, errDate
	}
	prec := time.Second
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac := s[i+1:]
		digits := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
		for range min(digits, 9) {
			prec /= 10
		}
	}
	p.Lo, p.Hi = t, t.Add(prec)
	return p, nil
}

// Bounds returns the half-open interval [from, to) of instants that
// satisfy the parameter for a point in time (such as Slot.start), with
// ok=false for prefixes that do not describe one interval (ne, ap, sa,
// eb). A zero from or to means unbounded on that side.
func (p DateParam) Bounds() (from, to time.Time, ok bool) {
	switch p.Prefix {
	case "eq":
		return p.Lo, p.Hi, true
	case "ge":
		return p.Lo, time.Time{}, true
	case "gt":
		return p.Hi, time.Time{}, true
	case "lt":
		return time.Time{}, p.Lo, true
	case "le":
		return time.Time{}, p.Hi, true
	}
	return time.Time{}, time.Time{}, false
}
