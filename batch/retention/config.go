package retention

import (
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
)

// FromConfig turns the config section retention into Settings: zero
// fields take [Defaults], a table in Keep is never pruned (age or count 0).
func FromConfig(c config.Retention) Settings {
	s := Defaults
	pick := func(d config.Duration, def time.Duration) time.Duration {
		if d == 0 {
			return def
		}
		return time.Duration(d)
	}
	s.Interval = pick(c.Interval, s.Interval)
	s.PassBudget = pick(c.PassBudget, s.PassBudget)
	s.DeliveredJobs = pick(c.DeliveredJobs, s.DeliveredJobs)
	s.Requests = pick(c.Requests, s.Requests)
	s.Messages = pick(c.Messages, s.Messages)
	s.Ledger = pick(c.Ledger, s.Ledger)
	if c.BatchSize != 0 {
		s.BatchSize = c.BatchSize
	}
	if c.KeepVersions != 0 {
		s.KeepVersions = c.KeepVersions
	}
	for t, zero := range map[string]func(){
		TableDeliveryJobs:     func() { s.DeliveredJobs = 0 },
		TableResourceVersions: func() { s.KeepVersions = 0 },
		TableRequests:         func() { s.Requests = 0 },
		TableMessages:         func() { s.Messages = 0 },
		TableFileLedger:       func() { s.Ledger = 0 },
	} {
		if slices.Contains(c.Keep, t) {
			zero()
		}
	}
	return s
}
