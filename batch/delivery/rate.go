package delivery

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rate is a number of delivery attempts per period, written "10/s",
// "600/min" or "1000/h" in the configuration. The zero Rate sets no limit.
type Rate struct {
	// N attempts per Per.
	N   int
	Per time.Duration
}

// maxRateText bounds the text ParseRate reads.
const maxRateText = 32

// ParseRate reads "N/unit" where N is a whole number from 1 to 1000000
// and unit one of s, sec, second, m, min, minute, h, hour (also with a
// count, "5/10s"). "" is the zero Rate (no limit).
func ParseRate(s string) (Rate, error) {
	if s == "" {
		return Rate{}, nil
	}
	if len(s) > maxRateText {
		return Rate{}, fmt.Errorf("rate: longer than %d characters", maxRateText)
	}
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want N/unit, e.g. 10/s or 600/min", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || n < 1 || n > 1_000_000 {
		return Rate{}, fmt.Errorf("rate %q: the count must be a whole number from 1 to 1000000", s)
	}
	unit = strings.TrimSpace(unit)
	k := 1
	if i := strings.IndexFunc(unit, func(r rune) bool { return r < '0' || r > '9' }); i > 0 {
		if k, err = strconv.Atoi(unit[:i]); err != nil || k < 1 || k > 86400 {
			return Rate{}, fmt.Errorf("rate %q: the period's count must be from 1 to 86400", s)
		}
		unit = unit[i:]
	}
	var per time.Duration
	switch unit {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return Rate{}, fmt.Errorf("rate %q: the unit must be s, min or h", s)
	}
	return Rate{N: n, Per: time.Duration(k) * per}, nil
}

// PerSecond is the rate in attempts per second (0 for no limit).
func (r Rate) PerSecond() float64 {
	if r.N <= 0 || r.Per <= 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// String writes the rate as ParseRate reads it ("" for no limit).
func (r Rate) String() string {
	if r.N <= 0 || r.Per <= 0 {
		return ""
	}
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/min", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.N)
	}
	return fmt.Sprintf("%d/%ds", r.N, int64(r.Per/time.Second))
}

// UnmarshalText reads a rate from configuration text (see ParseRate).
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalYAML reads a rate from a YAML string.
func (r *Rate) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return fmt.Errorf("rate: want a string such as 10/s")
	}
	return r.UnmarshalText([]byte(s))
}

// MarshalText writes the rate as ParseRate reads it.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Limit bounds one vendor's or one flow's deliveries across every runner
// sharing the store (all serve replicas together).
type Limit struct {
	// Concurrency is the most jobs in flight at once (0: for a vendor
	// Options.Concurrency, for a flow no bound of its own).
	Concurrency int
	// Rate bounds how many attempts start per period (zero: no bound),
	// with a token bucket of Burst tokens (0: the attempts of one
	// second at Rate, at least 1) kept in the store.
	Rate  Rate
	Burst int
}

// burst is the bucket's size.
func (l Limit) burst() float64 {
	if l.Burst > 0 {
		return float64(l.Burst)
	}
	return max(1, float64(int(l.Rate.PerSecond())))
}
