package tuotempo

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// The export jobs as the console's Exports and files page reads them
// (bridge.ExportScheduler): their schedules, one run now, a past file.

var _ bridge.ExportScheduler = (*Module)(nil)

// ExportSchedules lists the configured export jobs, in config order.
func (m *Module) ExportSchedules() ([]bridge.ExportSchedule, error) {
	jobs, err := exportJobs(m.cfg, m.root.Dir())
	if err != nil {
		return nil, err
	}
	out := make([]bridge.ExportSchedule, len(jobs))
	for i, j := range jobs {
		out[i] = bridge.ExportSchedule{Job: j.spec.Name, Schedule: j.schedule.String(), Next: j.schedule.Next}
	}
	return out, nil
}

// RunExportNow runs the export job named job once for now, uploaded and
// recorded as its schedule would, and prints what it did.
func (m *Module) RunExportNow(ctx context.Context, out io.Writer, st *store.Store, job string) error {
	jobs, err := m.ExportJobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Name() == job {
			return m.RunExport(ctx, out, st, j, time.Now(), false)
		}
	}
	return fmt.Errorf("no export job %q in %s.exports", job, section)
}

// OpenExport reads back from the remote a file the export job uploaded:
// file is its path as the ledger shows it, relative to the remote's base
// (no "..", not absolute).
func (m *Module) OpenExport(ctx context.Context, job, file string) (io.ReadCloser, error) {
	if file == "" || path.IsAbs(file) || path.Clean(file) != file || strings.HasPrefix(file, "../") || file == ".." {
		return nil, fmt.Errorf("export file %q: want a path relative to the remote's base", file)
	}
	remote, err := connectors.OpenRemote(ctx, remoteConfig(m.cfg.Remote, m.root.Dir()))
	if err != nil {
		return nil, fmt.Errorf("export %s: connecting: %w", job, err)
	}
	rc, err := remote.Open(ctx, file)
	if err != nil {
		remote.Close()
		return nil, fmt.Errorf("export %s: reading %s: %w", job, file, err)
	}
	return &remoteFile{ReadCloser: rc, remote: remote}, nil
}

// remoteFile closes its remote session with the file.
type remoteFile struct {
	io.ReadCloser
	remote connectors.Remote
}

func (f *remoteFile) Close() error {
	err := f.ReadCloser.Close()
	if cerr := f.remote.Close(); err == nil {
		err = cerr
	}
	return err
}
