package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo"
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
				m, err := tuotempoModule(c)
				if err != nil {
					return err
				}
				if m == nil {
					return fmt.Errorf("connectors.tuotempo is not configured (see the README's tuOtempO section)")
				}
				jobs, err := m.ExportJobs()
				if err != nil {
					return err
				}
				ran := 0
				for _, j := range jobs {
					if job != "" && j.Name() != job {
						continue
					}
					ran++
					when, err := exportTime(at, j.Location())
					if err != nil {
						return err
					}
					if err := m.RunExport(ctx, cmd.OutOrStdout(), st, j, when, dryRun); err != nil {
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

// tuotempoModule builds the tuOtempO module of c alone (not every
// configured vendor's); nil when connectors.tuotempo is absent.
func tuotempoModule(c *config.Config) (*tuotempo.Module, error) {
	cfg, ok := c.ConnectorSection(tuotempo.Name).(*tuotempo.Config)
	if !ok {
		return nil, nil
	}
	return tuotempo.New(cfg, c)
}

// reprocess re-runs one inbound file of a configured job.
func reprocess(ctx context.Context, out io.Writer, c *config.Config, st *store.Store, job, file string) error {
	m, err := tuotempoModule(c)
	if err != nil {
		return err
	}
	if m == nil {
		return fmt.Errorf("connectors.tuotempo is not configured")
	}
	// the same routing as serve, so a re-applied cancellation flows on
	rt, err := app.Router(c)
	if err != nil {
		return err
	}
	return m.Reprocess(ctx, out, st, rt, job, file)
}
