package tuotempo

// `fhirbridge export tuotempo`: the configured exports run now, as serve
// runs them on their schedule.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// exportCmd is `fhirbridge export tuotempo`.
func exportCmd() *cobra.Command {
	var configFile, at, job string
	var dryRun bool
	cmd := &cobra.Command{
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
			return runExports(cmd.Context(), cmd, configFile, job, at, dryRun)
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (default $FHIRBRIDGE_CONFIG)")
	cmd.Flags().StringVar(&at, "at", "", "export time: RFC 3339 or 2006-01-02T15:04 in the job's zone (default now)")
	cmd.Flags().StringVar(&job, "job", "", "run only this job")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the CSV and manifest; upload and record nothing")
	return cmd
}

// runExports loads the configuration, opens its store and runs the
// export job named job (every job for "") for export time at.
func runExports(ctx context.Context, cmd *cobra.Command, configFile, job, at string, dryRun bool) error {
	if bridge.LoadCommandConfig == nil {
		return errors.New("no application configuration loader (bridge.LoadCommandConfig)")
	}
	cc, err := bridge.LoadCommandConfig(Name, configFile)
	if err != nil {
		return err
	}
	st, err := cc.OpenStore(ctx)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	cfg, ok := cc.Section.(*Config)
	if !ok {
		return fmt.Errorf("connectors.tuotempo is not configured (see the README's tuOtempO section)")
	}
	root, err := bridge.RootOf(cc.App)
	if err != nil {
		return err
	}
	m, err := New(cfg, root)
	if err != nil {
		return err
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
}

// exportTime parses --at: RFC 3339, or a wall-clock time in loc; now for "".
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
