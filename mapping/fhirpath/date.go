package fhirpath

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Precisions of a temporal value.
const (
	pYear = iota + 1
	pMonth
	pDay
	pHour
	pMinute
	pSecond
	pMilli
)

// temporal is a parsed Date, DateTime or Time.
type temporal struct {
	y, mo, d, h, mi, s, ms int
	prec                   int
	hasTZ                  bool
	tz                     int // offset in minutes
	k                      kind
}

// dateLiteral turns the text after '@' into a Date or DateTime item.
func dateLiteral(text string) (Item, error) {
	k := kDate
	if strings.Contains(text, "T") {
		k = kDateTime
		text = strings.TrimSuffix(text, "T")
	}
	if _, ok := parseTemporal(text, k); !ok {
		return Item{}, evalError("invalid date")
	}
	return Item{k: k, s: text}, nil
}

func atoiN(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseTemporal parses a date, dateTime or time text (no '@').
func parseTemporal(s string, k kind) (temporal, bool) {
	t := temporal{k: k, mo: 1, d: 1}
	var ok bool
	if k != kTime {
		if t.y, ok = atoiN(s, 4); !ok {
			return t, false
		}
		t.prec, s = pYear, s[4:]
		for _, p := range []int{pMonth, pDay} {
			if len(s) == 0 || s[0] != '-' {
				break
			}
			v, ok := atoiN(s[1:], 2)
			if !ok {
				return t, false
			}
			if p == pMonth {
				if v < 1 || v > 12 {
					return t, false
				}
				t.mo = v
			} else {
				if v < 1 || v > 31 {
					return t, false
				}
				t.d = v
			}
			t.prec, s = p, s[3:]
		}
		if len(s) == 0 {
			return t, true
		}
		if s[0] != 'T' || t.prec != pDay {
			return t, false
		}
		s = s[1:]
		if len(s) == 0 {
			return t, true
		}
	}
	if t.h, ok = atoiN(s, 2); !ok || t.h > 23 {
		return t, false
	}
	t.prec, s = pHour, s[2:]
	if len(s) > 0 && s[0] == ':' {
		if t.mi, ok = atoiN(s[1:], 2); !ok || t.mi > 59 {
			return t, false
		}
		t.prec, s = pMinute, s[3:]
		if len(s) > 0 && s[0] == ':' {
			if t.s, ok = atoiN(s[1:], 2); !ok || t.s > 59 {
				return t, false
			}
			t.prec, s = pSecond, s[3:]
			if len(s) > 0 && s[0] == '.' {
				j := 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				if j == 1 {
					return t, false
				}
				frac := s[1:j] + "00"
				t.ms, _ = atoiN(frac, 3)
				t.prec, s = pMilli, s[j:]
			}
		}
	}
	if len(s) == 0 {
		return t, true
	}
	if k == kTime {
		return t, false
	}
	if s == "Z" {
		t.hasTZ = true
		return t, true
	}
	if (s[0] == '+' || s[0] == '-') && len(s) == 6 && s[3] == ':' {
		hh, ok1 := atoiN(s[1:], 2)
		mm, ok2 := atoiN(s[4:], 2)
		if !ok1 || !ok2 {
			return t, false
		}
		t.hasTZ, t.tz = true, hh*60+mm
		if s[0] == '-' {
			t.tz = -t.tz
		}
		return t, true
	}
	return t, false
}

// toTime returns t as a time.Time (in its own offset).
func (t temporal) toTime() time.Time {
	return time.Date(t.y, time.Month(t.mo), t.d, t.h, t.mi, t.s, t.ms*1e6, time.FixedZone("", t.tz*60))
}

func fromTime(tm time.Time, like temporal) temporal {
	like.y, like.mo, like.d = tm.Year(), int(tm.Month()), tm.Day()
	like.h, like.mi, like.s, like.ms = tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond()/1e6
	return like
}

// format renders t at its precision.
func (t temporal) format() string {
	var b []byte
	pad := func(v, n int) {
		s := strconv.Itoa(v)
		for i := len(s); i < n; i++ {
			b = append(b, '0')
		}
		b = append(b, s...)
	}
	if t.k != kTime {
		pad(t.y, 4)
		if t.prec >= pMonth {
			b = append(b, '-')
			pad(t.mo, 2)
		}
		if t.prec >= pDay {
			b = append(b, '-')
			pad(t.d, 2)
		}
		if t.prec < pHour {
			return string(b)
		}
		b = append(b, 'T')
	}
	pad(t.h, 2)
	if t.prec >= pMinute {
		b = append(b, ':')
		pad(t.mi, 2)
	}
	if t.prec >= pSecond {
		b = append(b, ':')
		pad(t.s, 2)
	}
	if t.prec >= pMilli {
		b = append(b, '.')
		pad(t.ms, 3)
	}
	if t.hasTZ && t.k != kTime {
		if t.tz == 0 {
			b = append(b, 'Z')
		} else {
			off := t.tz
			if off < 0 {
				b, off = append(b, '-'), -off
			} else {
				b = append(b, '+')
			}
			pad(off/60, 2)
			b = append(b, ':')
			pad(off%60, 2)
		}
	}
	return string(b)
}

// utc normalises a zoned value with hour precision or finer to UTC.
func (t temporal) utc() temporal {
	if !t.hasTZ || t.prec < pHour || t.tz == 0 {
		return t
	}
	u := fromTime(t.toTime().UTC(), t)
	u.tz = 0
	return u
}

// compareTemporal orders a and b; ok is false when the precisions differ
// before a difference is found (the result is then empty).
func compareTemporal(a, b temporal) (int, bool) {
	if a.hasTZ && b.hasTZ {
		a, b = a.utc(), b.utc()
	}
	av := [...]int{a.y, a.mo, a.d, a.h, a.mi, a.s*1000 + a.ms}
	bv := [...]int{b.y, b.mo, b.d, b.h, b.mi, b.s*1000 + b.ms}
	start := 0
	if a.k == kTime {
		start = 3
	}
	pa, pb := min(a.prec, pSecond), min(b.prec, pSecond)
	if a.hasTZ != b.hasTZ && pa >= pHour && pb >= pHour {
		return 0, false
	}
	for i := start; i < min(pa, pb); i++ {
		if av[i] != bv[i] {
			if av[i] < bv[i] {
				return -1, true
			}
			return 1, true
		}
	}
	if pa != pb {
		return 0, false
	}
	return 0, true
}

// calendarUnits maps FHIRPath calendar duration keywords to their
// singular form.
var calendarUnits = map[string]string{
	"year": "year", "years": "year", "month": "month", "months": "month",
	"week": "week", "weeks": "week", "day": "day", "days": "day",
	"hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
	"second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
}

// calendarUCUM maps singular calendar keywords to UCUM codes.
var calendarUCUM = map[string]string{
	"year": "a", "month": "mo", "week": "wk", "day": "d", "hour": "h",
	"minute": "min", "second": "s", "millisecond": "ms",
}

// errDateRange is the error of date arithmetic whose result would lie
// outside the years 1 to 9999 that FHIR dates can hold.
var errDateRange = errors.New("date arithmetic gives a date outside the years 0001 to 9999")

// maxShift bounds, per unit, the magnitude of a quantity added to a date:
// 10,000 years or a little more, far enough to leave the years FHIR holds
// and small enough that no arithmetic below overflows.
var maxShift = map[string]float64{
	"year": 1e4, "month": 12e4, "week": 53e4, "day": 366e4, "hour": 366e4 * 24,
	"minute": 366e4 * 1440, "second": 366e4 * 86400, "millisecond": 366e4 * 86400e3,
}

// addDuration adds (sign*) a time quantity to a temporal value. ok is
// false for a unit that is not a time unit; err is errDateRange when the
// result would leave the years 1 to 9999 (rather than wrapping round).
func addDuration(t temporal, v float64, unit string) (_ temporal, ok bool, err error) {
	if u, ok := calendarUnits[unit]; ok {
		unit = u
	} else {
		switch unit {
		case "wk":
			unit = "week"
		case "d":
			unit = "day"
		case "h":
			unit = "hour"
		case "min":
			unit = "minute"
		case "s":
			unit = "second"
		case "ms":
			unit = "millisecond"
		default:
			return t, false, nil
		}
	}
	if m := maxShift[unit]; v != v || v > m || v < -m {
		return t, true, errDateRange
	}
	n := int(v) // fractions of the unit are dropped
	tm := t.toTime()
	if t.k == kTime {
		tm = time.Date(2000, 1, 1, t.h, t.mi, t.s, t.ms*1e6, time.UTC)
	}
	switch unit {
	case "year":
		tm = tm.AddDate(n, 0, 0)
	case "month":
		if t.prec == pYear {
			tm = tm.AddDate(n/12, 0, 0)
		} else {
			tm = tm.AddDate(0, n, 0)
		}
	case "week", "day":
		if unit == "week" {
			n *= 7
		}
		switch t.prec {
		case pYear:
			tm = tm.AddDate(n/365, 0, 0)
		case pMonth:
			tm = tm.AddDate(0, n/30, 0)
		default:
			tm = tm.AddDate(0, 0, n)
		}
	case "hour", "minute", "second", "millisecond":
		// whole days first: a time.Duration spans only about 292 years
		per := map[string]time.Duration{"hour": time.Hour, "minute": time.Minute, "second": time.Second, "millisecond": time.Millisecond}[unit]
		perDay := int(24 * time.Hour / per)
		tm = tm.AddDate(0, 0, n/perDay).Add(time.Duration(n%perDay) * per)
	}
	if y := tm.Year(); t.k != kTime && (y < 1 || y > 9999) {
		return t, true, errDateRange
	}
	return fromTime(tm, t), true, nil
}
