package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors"
)

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Run a vendor export now (the same job serve runs on its schedule)",
	}
	var configFile, at, job string
	var dryRun bool
	tuo := &cobra.Command{
		Use:   "tuotempo [--config FILE] [--job NAME] [--at TIME] [--dry-run]",
		Short: "Build and upload the tuOtempO export files now",
		Long: `export tuotempo runs the exports configured under connectors.tuotempo.exports
once, as serve does on their schedule: it selects the stored Appointments
whose start lies in the job's window around the export time (default 24 h
before to 72 h after; TT_RESOURCES exports every current Practitioner),
maps them with the job's column set (tuotempo/export, tuotempo/reservations
or tuotempo/resources), writes the CSV (header row also when empty) and its
.manifest.json, uploads both to the remote (temporary name, then rename) and
records the file in the ledger (fhirbridge files list).

--at sets the export time (RFC 3339, or 2006-01-02T15:04 in the job's time
zone; default now). --dry-run prints the CSV and the manifest and uploads and
records nothing. --job runs one job (default: all).
Exit status: 0 all exports uploaded, 1 an export failed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, configFile, func(ctx context.Context, c *config.Config, st *store.Store) error {
				if c.Connectors.TuOtempO == nil {
					return fmt.Errorf("connectors.tuotempo is not configured (see the README's tuOtempO section)")
				}
				jobs, err := exportJobs(c)
				if err != nil {
					return err
				}
				ran := 0
				for _, j := range jobs {
					if job != "" && j.spec.Name != job {
						continue
					}
					ran++
					when, err := exportTime(at, j.schedule.Location())
					if err != nil {
						return err
					}
					if err := runExport(ctx, cmd.OutOrStdout(), c, st, j, when, dryRun); err != nil {
						return err
					}
				}
				if ran == 0 {
					return fmt.Errorf("no export job %q in connectors.tuotempo.exports", job)
				}
				return nil
			})
		},
	}
	tuo.Flags().StringVar(&configFile, "config", "", "configuration file (default $FHIRBRIDGE_CONFIG)")
	tuo.Flags().StringVar(&at, "at", "", "export time: RFC 3339 or 2006-01-02T15:04 in the job's zone (default now)")
	tuo.Flags().StringVar(&job, "job", "", "run only this job")
	tuo.Flags().BoolVar(&dryRun, "dry-run", false, "print the CSV and manifest; upload and record nothing")
	cmd.AddCommand(tuo)
	return cmd
}

// exportTime parses --at.
func exportTime(at string, loc *time.Location) (time.Time, error) {
	if at == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", at, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 (2026-12-01T06:00:00+01:00) or 2026-12-01T06:00 in the job's time zone", at)
	}
	return t, nil
}

// runExport runs one job once and prints what it did.
func runExport(ctx context.Context, out io.Writer, c *config.Config, st *store.Store, j exportJob, at time.Time, dryRun bool) error {
	var remote connectors.Remote
	rc := remoteConfig(c.Connectors.TuOtempO.Remote, c.Dir())
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

// reprocess re-runs one inbound file of a configured job.
func reprocess(ctx context.Context, out io.Writer, c *config.Config, st *store.Store, job, file string) error {
	// the same routing as serve, so a re-applied cancellation flows on
	rt, err := router(c)
	if err != nil {
		return err
	}
	f, err := newFiles(ctx, c, st, rt, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if f == nil {
		return fmt.Errorf("connectors.tuotempo is not configured")
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
		return fmt.Errorf("no inbound job %q in connectors.tuotempo.cancellations", job)
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
