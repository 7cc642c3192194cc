package config

import (
	"fmt"
	"slices"
	"time"
)

// Retention is the section retention: how long the store keeps the
// history nobody needs any more, pruned in small batches by one replica
// (batch/retention). Zero or absent fields take the defaults below; a
// table named in Keep is never pruned.
type Retention struct {
	// Interval between passes (default 1h, at least 1m).
	Interval Duration `yaml:"interval"`
	// BatchSize is the most rows deleted per transaction (default 500).
	BatchSize int `yaml:"batch_size"`
	// PassBudget bounds one pass (default 1m); the rest waits for the next.
	PassBudget Duration `yaml:"pass_budget"`
	// DeliveredJobs: delivered delivery jobs older than this (default
	// 720h, 30 days). Pending, in-flight, dead-lettered and discarded jobs
	// are never pruned.
	DeliveredJobs Duration `yaml:"delivered_jobs"`
	// KeepVersions: resource versions kept per resource, the current one
	// included (default 10); older ones go unless a pending, in-flight or
	// dead-lettered delivery job names them.
	KeepVersions int `yaml:"keep_versions"`
	// Requests: stored idempotency responses older than this (default
	// 720h); a sender's retry after that is processed again.
	Requests Duration `yaml:"requests"`
	// Messages: delivered, rejected and accepted messages older than this
	// (default 2160h, 90 days).
	Messages Duration `yaml:"messages"`
	// Ledger: file-ledger entries and export slots older than this
	// (default 9600h, 400 days). Inbound duplicate detection reads the
	// ledger: a file dropped again after this age is applied again.
	Ledger Duration `yaml:"ledger"`
	// Keep lists tables never pruned: delivery_jobs, resource_versions,
	// requests, messages, file_ledger (with export_slots).
	Keep []string `yaml:"keep"`
}

// RetentionTables are the names Retention.Keep accepts.
var RetentionTables = []string{"delivery_jobs", "resource_versions", "requests", "messages", "file_ledger"}

// validateRetention checks the retention section.
func (c *Config) validateRetention() []error {
	r := c.Retention
	var errs []error
	if r.Interval != 0 && r.Interval < Duration(time.Minute) {
		errs = append(errs, fmt.Errorf("retention.interval %s: at least 1m", time.Duration(r.Interval)))
	}
	if r.BatchSize < 0 || r.BatchSize > 100000 {
		errs = append(errs, fmt.Errorf("retention.batch_size %d: between 1 and 100000 (0: the default)", r.BatchSize))
	}
	if r.KeepVersions < 0 {
		errs = append(errs, fmt.Errorf("retention.keep_versions %d: must not be negative (0: the default)", r.KeepVersions))
	}
	for _, f := range []struct {
		key string
		d   Duration
		min time.Duration
	}{{"pass_budget", r.PassBudget, time.Second}, {"delivered_jobs", r.DeliveredJobs, time.Hour},
		{"requests", r.Requests, time.Hour}, {"messages", r.Messages, time.Hour}, {"ledger", r.Ledger, time.Hour}} {
		if f.d != 0 && f.d < Duration(f.min) {
			errs = append(errs, fmt.Errorf("retention.%s %s: at least %s (0: the default)", f.key, time.Duration(f.d), f.min))
		}
	}
	for i, t := range r.Keep {
		if !slices.Contains(RetentionTables, t) {
			errs = append(errs, fmt.Errorf("retention.keep[%d] %q: want one of %v", i, t, RetentionTables))
		}
	}
	return errs
}
