package export

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzNamePattern: parsing never panics; an accepted pattern always gives
// a relative name without empty, "." or ".." parts, and String gives the
// pattern back.
func FuzzNamePattern(f *testing.F) {
	for _, s := range []string{"", DefaultNamePattern, "out/{job}_{date}.csv", "{time:yyyy-MM-dd_HH.mm.ss}.csv",
		"{time:}", "{nope}", "../x", "a//b", "{", "}", "x{time", "{time:yyyyy}", "é.csv", "a/./b", "/abs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseNamePattern(s)
		if err != nil {
			if !errors.Is(err, ErrNamePattern) {
				t.Fatalf("error %v does not match ErrNamePattern", err)
			}
			return
		}
		if s != "" && p.String() != s {
			t.Fatalf("String() = %q, want %q", p.String(), s)
		}
		for _, at := range []time.Time{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, madrid)} {
			name := p.Format(at, "job-1")
			if err := checkPath(name); err != nil || strings.HasPrefix(name, "/") {
				t.Fatalf("pattern %q gives the name %q: %v", s, name, err)
			}
		}
	})
}

// FuzzSchedule: parsing never panics; an accepted schedule's next run is
// strictly later, and a slot's key stays the same for the instant it
// names.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"30 2 * * *", "*/15 2 * * *", "@daily", "@every 90m", "0 0 29 2 *", "0 0 30 2 *",
		"61 * * * *", "* * * * * *", "@every -1s", "5-3 * * * *", "0 0 * * 7", "@reboot", "TZ=UTC 0 0 * * *"} {
		f.Add(s, "Europe/Madrid", int64(1774744200))
	}
	f.Add("30 2 * * *", "America/Santiago", int64(1775271600))
	f.Add("0 0 * * *", "Australia/Lord_Howe", int64(1775314800))
	f.Fuzz(func(t *testing.T, expr, zone string, unix int64) {
		s, err := ParseSchedule(expr, zone)
		if err != nil {
			if !errors.Is(err, ErrSchedule) {
				t.Fatalf("error %v does not match ErrSchedule", err)
			}
			return
		}
		after := time.Unix(unix%(1<<33), 0) // years 1697..2242
		slot := s.NextSlot(after)
		if slot.At.IsZero() {
			return
		}
		if !slot.At.After(after) {
			t.Fatalf("%s: NextSlot(%v) = %v, not after", s, after, slot.At)
		}
		if again := s.NextSlot(slot.At.Add(-time.Nanosecond)); !again.At.Equal(slot.At) || again.Key != slot.Key {
			t.Fatalf("%s: slot %v %q, asked again %v %q", s, slot.At, slot.Key, again.At, again.Key)
		}
	})
}
