package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// The file jobs of the configured modules, for `fhirbridge files` and the
// console's Exports and files page: both pick a module by job here.

// ExportScheduler is a module with scheduled file exports: the console
// lists them with their next run, runs one now and serves a past export.
type ExportScheduler interface {
	// ExportSchedules lists the module's export jobs, in config order.
	ExportSchedules() ([]ExportSchedule, error)
	// RunExportNow runs job once for the current time, as its schedule
	// would (uploaded and recorded in the ledger), and prints what it did
	// to out.
	RunExportNow(ctx context.Context, out io.Writer, st *store.Store, job string) error
	// OpenExport reads a file job uploaded (its path as the ledger shows
	// it) back from the remote; the caller closes it.
	OpenExport(ctx context.Context, job, file string) (io.ReadCloser, error)
}

// ExportSchedule is one export job as an operator reads it.
type ExportSchedule struct {
	// Job is the job's name (the ledger's job of its files).
	Job string
	// Schedule is the cron expression and its time zone.
	Schedule string
	// Next returns the first run strictly after t (zero: never again).
	Next func(t time.Time) time.Time
}

// FileReprocessors returns the configured modules that read inbound files,
// by module name.
func (in *Instances) FileReprocessors() map[string]FileReprocessor {
	out := map[string]FileReprocessor{}
	for _, name := range in.names {
		if rp, ok := in.byName[name].(FileReprocessor); ok {
			out[name] = rp
		}
	}
	return out
}

// ExportSchedulers returns the configured modules with export jobs, by
// module name.
func (in *Instances) ExportSchedulers() map[string]ExportScheduler {
	out := map[string]ExportScheduler{}
	for _, name := range in.names {
		if es, ok := in.byName[name].(ExportScheduler); ok {
			out[name] = es
		}
	}
	return out
}

// PickReprocessor picks, of the modules that read inbound files (by
// name), the only one (which names an unknown job itself), else the one
// with job.
func PickReprocessor(rps map[string]FileReprocessor, job string) (FileReprocessor, error) {
	all := slices.Sorted(maps.Keys(rps))
	var withJob []string
	for _, name := range all {
		if slices.Contains(rps[name].InboundJobs(), job) {
			withJob = append(withJob, name)
		}
	}
	switch {
	case len(all) == 0:
		return nil, errors.New("no configured connector reads inbound files")
	case len(all) == 1:
		return rps[all[0]], nil
	case job == "":
		return nil, fmt.Errorf("several connectors read inbound files (%s): name the job with --job", strings.Join(all, ", "))
	case len(withJob) == 1:
		return rps[withJob[0]], nil
	}
	return nil, fmt.Errorf("inbound job %q: in %d of the connectors that read inbound files (%s)", job, len(withJob), strings.Join(all, ", "))
}

// PickExporter returns the module whose export job is named job.
func PickExporter(ess map[string]ExportScheduler, job string) (ExportScheduler, error) {
	for _, name := range slices.Sorted(maps.Keys(ess)) {
		scheds, err := ess[name].ExportSchedules()
		if err != nil {
			return nil, err
		}
		for _, s := range scheds {
			if s.Job == job {
				return ess[name], nil
			}
		}
	}
	return nil, fmt.Errorf("export job %q: no configured connector has it", job)
}
