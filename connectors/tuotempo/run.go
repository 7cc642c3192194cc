package tuotempo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// What `export tuotempo` and `files reprocess` run: one export now, one
// inbound file again, with what they print.

// ExportJob is one compiled export of the section.
type ExportJob struct{ j exportJob }

// Name is the job's name (connectors.tuotempo.exports[].name).
func (e ExportJob) Name() string { return e.j.spec.Name }

// Location is the job's time zone.
func (e ExportJob) Location() *time.Location { return e.j.schedule.Location() }

// ExportJobs compiles the configured exports, in the section's order.
func (m *Module) ExportJobs() ([]ExportJob, error) {
	jobs, err := exportJobs(m.cfg, m.root.Dir())
	if err != nil {
		return nil, err
	}
	out := make([]ExportJob, len(jobs))
	for i, j := range jobs {
		out[i] = ExportJob{j}
	}
	return out, nil
}

// RunExport runs job once for export time at, as the schedule would, and
// prints to out what it did: the file uploaded with its rows, size and
// digest, or with dryRun the CSV and its manifest (nothing uploaded or
// recorded); then each refused resource with its reason.
func (m *Module) RunExport(ctx context.Context, out io.Writer, st *store.Store, job ExportJob, at time.Time, dryRun bool) error {
	j := job.j
	var remote connectors.Remote
	rc := remoteConfig(m.cfg.Remote, m.root.Dir())
	open := func(ctx context.Context) (connectors.Remote, error) { return connectors.OpenRemote(ctx, rc) }
	opt := export.RunOptions{DryRun: dryRun, Reopen: open}
	if dryRun {
		opt.Output = out
	} else {
		var err error
		if remote, err = open(ctx); err != nil {
			return fmt.Errorf("export %s: connecting: %w", j.spec.Name, err)
		}
		defer remote.Close()
	}
	res, err := export.Run(ctx, st, remote, j.spec, at, opt)
	if err != nil {
		return fmt.Errorf("export %s: %w", j.spec.Name, err)
	}
	if dryRun {
		var m json.RawMessage = res.ManifestJSON
		fmt.Fprintf(out, "\n--- %s (dry run: nothing uploaded, nothing recorded)\n%s\n", res.ManifestFile, m)
	} else {
		fmt.Fprintf(out, "%s: uploaded %s (rows: %d, refused: %d, %d bytes, sha256 %s) and %s\n",
			j.spec.Name, res.File, res.Rows, res.RefusedCount, res.Size, res.SHA256, res.ManifestFile)
	}
	for _, r := range res.Refused {
		fmt.Fprintf(out, "  refused %s: %s\n", r.ID, r.Reason)
	}
	return nil
}

// InboundJobs names the cancellation jobs
// (connectors.tuotempo.cancellations[].name), in config order.
func (m *Module) InboundJobs() []string {
	names := make([]string, len(m.cfg.Cancellations))
	for i, c := range m.cfg.Cancellations {
		names[i] = c.Name
	}
	return names
}

var _ bridge.FileReprocessor = (*Module)(nil)

// Reprocess re-runs one inbound file of the cancellation job named job
// ("" when there is one) — file as the ledger shows it, found also under
// processed/ or error/ — and prints what it did. router (may be nil)
// receives the Appointments it changes, as serve's routes would.
func (m *Module) Reprocess(ctx context.Context, out io.Writer, st *store.Store, router inbound.Router, job, file string) error {
	f, err := newFiles(ctx, m.cfg, m.root, st, router, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		return err
	}
	var p *inbound.Poller
	for _, j := range f.inbound {
		if job == "" || j.poller.Spec().Name == job {
			if p != nil {
				return fmt.Errorf("several inbound jobs: name one with --job")
			}
			p = j.poller
		}
	}
	if p == nil {
		return fmt.Errorf("no inbound job %q in %s.cancellations", job, section)
	}
	remote, err := f.open(ctx)
	if err != nil {
		return fmt.Errorf("reprocess: connecting: %w", err)
	}
	defer remote.Close()
	// PATH as the ledger shows it: the file has usually moved on since, to
	// processed/ or error/
	sp := p.Spec()
	base := path.Base(file)
	for _, cand := range []string{file, path.Join(sp.Dir, sp.ProcessedDir, base), path.Join(sp.Dir, sp.ErrorDir, base)} {
		if _, err := remote.Stat(ctx, cand); err == nil {
			file = cand
			break
		}
	}
	rep, err := p.Reprocess(ctx, remote, file)
	if err != nil {
		return fmt.Errorf("reprocessing %s: %w", file, err)
	}
	for _, fr := range rep.Files {
		fmt.Fprintf(out, "%s: %s, %d rows applied, %d refused, %d appointments updated, now at %s\n",
			fr.Path, fr.Outcome, fr.RowsOK, fr.RowsFailed, fr.Updated, fr.MovedTo)
		for _, l := range fr.Failed {
			fmt.Fprintf(out, "  line %d: %s\n", l.Line, l.Reason)
		}
	}
	return rep.Err()
}
