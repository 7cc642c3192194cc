package solomod

// `fhirbridge import solo-report`: a Solo visit report (the CSV data dump,
// the password-locked encounter report, or a file) through a reverse
// mapping into FHIR, written out or stored as serve stores.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/report"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// importFlags are the flags of `fhirbridge import solo-report`.
type importFlags struct {
	configFile, from, to, preset, passwordEnv, file string
	mappingSpec, out, format                        string
	encounterReport, toStore, quiet                 bool
	workers, maxListed, maxRows                     int
	maxBytes                                        int64
}

// importCmd is `fhirbridge import solo-report`.
func importCmd() *cobra.Command {
	var f importFlags
	cmd := &cobra.Command{
		Use:   "solo-report (--from DATE --to DATE | --encounter-report --preset ID | --file PATH) [--out FILE] [--format ndjson|bundle] [--to-store]",
		Short: "Import a Teladoc Health Solo visit report as FHIR Encounters (and Patients)",
		Long: `solo-report imports a Solo visit report through the shipped reverse mapping
solo/encounter-report (or --mapping) into FHIR Encounters, and Patients where
the report names one. Three sources:

  --from DATE --to DATE            the CSV data dump (GET /qapi/v1/reports/csv-data-dump)
  --encounter-report --preset ID   orders the zipped, password-locked encounter
                                   report, polls its status (backoff, timeout)
                                   and downloads it
  --file PATH                      a report file you already have: CSV, or the zip

The API forms need connectors.solo (base_url, api_key) in the config. The zip
password comes from --password-env NAME, else connectors.solo.reports.zip_password.
Downloads are kept in a private temporary file until imported, so a cut
download applies nothing. A zip is decrypted and checked in full (CRC-32, AES
authentication code) before any row is applied — a wrong password or a
truncated archive applies nothing — then decrypted again, streaming, into the
mapper: the plaintext never touches the disk.

A report over its cap (--max-bytes of CSV text, unzipped, and --max-rows;
defaults 4 GiB and 10,000,000) is refused before any row is applied: the whole
text is read and counted first (for a zip, in the same pass that verifies it).

The header must hold exactly the mapping's columns: otherwise the import is
refused before any row, naming the missing and the unexpected columns.

Output: NDJSON (default, standard output) or one collection Bundle
(--format bundle), --out FILE written to a temporary name and renamed when the
import ends; or --to-store: stored like any update through the FHIR endpoint's
backend (validated, versioned, routed to the configured flows; an existing
Patient is never replaced).

A progress bar shows on a terminal, plain progress lines otherwise; a summary
ends the run (rows read, mapped, refused by line number, Encounters by status
and by day). Exit status: 0 every row imported, 1 some rows refused (the rest
imported), 2 the import could not start or failed (nothing half-applied to an
--out file). Messages never show a value from the report.`,
		Example: `  fhirbridge import solo-report --config fhirbridge.yaml --from 2026-03-01 --to 2026-03-31 --out march.ndjson
  fhirbridge import solo-report --config fhirbridge.yaml --encounter-report --preset a2c6e3fc-c2f7-4a24-a0d6-eb2343a15469 --to-store
  fhirbridge import solo-report --file encounter-report.zip --password-env SOLO_ZIP_PASSWORD --format bundle --out visits.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			code, err := runImport(cmd.Context(), f, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "fhirbridge import solo-report:", err)
			}
			if code != 0 {
				return bridge.ExitError{Code: code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "config", "", "configuration file (default $FHIRBRIDGE_CONFIG); needed for --from/--to, --encounter-report and --to-store")
	fl.StringVar(&f.from, "from", "", "first day of the CSV data dump (YYYY-MM-DD)")
	fl.StringVar(&f.to, "to", "", "last day of the CSV data dump, or of the encounter report (YYYY-MM-DD)")
	fl.BoolVar(&f.encounterReport, "encounter-report", false, "order the zipped, password-locked encounter report (with --from/--to, default: yesterday)")
	fl.StringVar(&f.preset, "preset", "", "encounter report preset id (default connectors.solo.reports.preset_id)")
	fl.StringVar(&f.passwordEnv, "password-env", "", "name of the environment variable holding the zip password (default connectors.solo.reports.zip_password)")
	fl.StringVar(&f.file, "file", "", "a report file: CSV, or the encounter report zip")
	fl.StringVar(&f.mappingSpec, "mapping", "solo/encounter-report", "reverse CSV mapping: shipped name or file")
	fl.StringVar(&f.out, "out", "", "output file (written to a temporary name, then renamed); default standard output")
	fl.StringVar(&f.format, "format", "ndjson", "output format: ndjson or bundle (one collection Bundle)")
	fl.BoolVar(&f.toStore, "to-store", false, "store the resources (routed on to the configured flows) instead of writing them")
	fl.IntVar(&f.workers, "workers", 0, "rows mapped in parallel (default: the number of CPUs)")
	fl.IntVar(&f.maxListed, "max-listed", report.DefaultMaxListed, "refused rows listed by line in the summary")
	fl.Int64Var(&f.maxBytes, "max-bytes", 0, "cap on the report's CSV text, unzipped, in bytes (default connectors.solo.reports.max_bytes, else 4 GiB)")
	fl.IntVar(&f.maxRows, "max-rows", 0, "cap on the report's rows (default connectors.solo.reports.max_rows, else 10000000)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress and no summary")
	return cmd
}

// checkImportFlags refuses inconsistent flags.
func checkImportFlags(f importFlags) error {
	forms := 0
	if f.file != "" {
		forms++
	}
	if f.encounterReport {
		forms++
	}
	if !f.encounterReport && (f.from != "" || f.to != "") {
		forms++
		if f.from == "" || f.to == "" {
			return errors.New("--from and --to go together")
		}
	}
	if forms != 1 {
		return errors.New("give exactly one of --from/--to, --encounter-report or --file")
	}
	if f.format != "ndjson" && f.format != "bundle" {
		return fmt.Errorf("--format %q: want ndjson or bundle", f.format)
	}
	if f.maxBytes < 0 || f.maxRows < 0 {
		return errors.New("--max-bytes and --max-rows must not be negative")
	}
	if f.toStore && f.out != "" {
		return errors.New("--to-store and --out exclude each other")
	}
	return nil
}

// soloSection is the configuration's connectors.solo section, nil when
// absent (or without a configuration).
func soloSection(c *bridge.CommandConfig) *Config {
	if c == nil {
		return nil
	}
	s, _ := c.Section.(*Config)
	return s
}

// importConfig loads the configuration (--config, else
// $FHIRBRIDGE_CONFIG) and, when needSolo, the Solo client of its section.
func importConfig(f importFlags, needSolo bool) (*bridge.CommandConfig, *solo.Connector, error) {
	if bridge.LoadCommandConfig == nil {
		return nil, nil, errors.New("no application configuration loader (bridge.LoadCommandConfig)")
	}
	c, err := bridge.LoadCommandConfig(solo.Name, f.configFile)
	if err != nil {
		return nil, nil, err
	}
	if !needSolo {
		return c, nil, nil
	}
	s := soloSection(c)
	if s == nil {
		return nil, nil, errors.New("connectors.solo is not configured (base_url, api_key)")
	}
	conn, err := s.Client()
	if err != nil {
		return nil, nil, fmt.Errorf("connectors.solo: %w", err)
	}
	return c, conn, nil
}

// reportsSection returns the config's reports section with defaults.
func reportsSection(c *bridge.CommandConfig) Reports {
	if s := soloSection(c); s != nil && s.Reports != nil {
		return *s.Reports
	}
	return DefaultReports()
}

// reportLimits are the flags' caps, else the config's, else the defaults.
func reportLimits(f importFlags, c *bridge.CommandConfig) report.Limits {
	rs := reportsSection(c)
	lim := report.Limits{MaxBytes: rs.MaxBytes, MaxRows: rs.MaxRows}
	if f.maxBytes > 0 {
		lim.MaxBytes = f.maxBytes
	}
	if f.maxRows > 0 {
		lim.MaxRows = f.maxRows
	}
	return lim
}

// zipPassword is --password-env's variable, else the config's secret.
func zipPassword(f importFlags, c *bridge.CommandConfig) (string, error) {
	if f.passwordEnv != "" {
		v := os.Getenv(f.passwordEnv)
		if v == "" {
			return "", fmt.Errorf("--password-env: environment variable %s is not set", f.passwordEnv)
		}
		return v, nil
	}
	if rs := reportsSection(c); rs.ZipPassword != "" {
		return rs.ZipPassword.Reveal(), nil
	}
	return "", errors.New("no zip password: give --password-env NAME or set connectors.solo.reports.zip_password")
}

// download fetches the report into a private temporary file and returns
// it rewound; the caller removes it.
func download(dir string, fetch func(w io.Writer) (int64, error)) (*os.File, error) {
	tmp, err := os.CreateTemp(dir, "fhirbridge-solo-report-*")
	if err != nil {
		return nil, fmt.Errorf("creating the download file: %w", err)
	}
	if _, err := fetch(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("rewinding the download: %w", err)
	}
	return tmp, nil
}

// parseDay reads a YYYY-MM-DD flag.
func parseDay(flag, v string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want YYYY-MM-DD", flag, v)
	}
	return t, nil
}

// fetchReport acquires the report named by the flags as an open file
// (the caller's --file, or a download) and whether to remove it after.
func fetchReport(ctx context.Context, f importFlags, c *bridge.CommandConfig, conn *solo.Connector, password string, stderr io.Writer) (*os.File, bool, error) {
	if f.file != "" {
		fh, err := os.Open(f.file)
		if err != nil {
			return nil, false, fmt.Errorf("opening the report: %w", err)
		}
		return fh, false, nil
	}
	rs := reportsSection(c)
	var from, to time.Time
	var err error
	if f.from != "" || !f.encounterReport {
		if from, err = parseDay("from", f.from); err != nil {
			return nil, false, err
		}
		if to, err = parseDay("to", f.to); err != nil {
			return nil, false, err
		}
	} else {
		to = time.Now().UTC().Truncate(24 * time.Hour).Add(-time.Second)
		from = to.Truncate(24 * time.Hour)
	}
	if !f.encounterReport {
		fh, err := download(rs.TempDir, func(w io.Writer) (int64, error) { return conn.CSVDataDump(ctx, from, to, w) })
		if err != nil {
			return nil, false, fmt.Errorf("downloading the CSV data dump: %w", err)
		}
		return fh, true, nil
	}
	preset := f.preset
	if preset == "" {
		preset = rs.PresetID
	}
	if preset == "" {
		return nil, false, errors.New("--encounter-report needs --preset (or connectors.solo.reports.preset_id)")
	}
	if f.to != "" {
		to = to.Add(24*time.Hour - time.Second) // the whole last day
	}
	id, _, err := conn.CreateEncounterReport(ctx, solo.EncounterReportRequest{From: from, To: to, PresetID: preset, Password: password})
	if err != nil {
		return nil, false, err
	}
	b := solo.Backoff{Initial: time.Duration(rs.PollInterval), Max: time.Duration(rs.PollMaxInterval), Timeout: time.Duration(rs.PollTimeout), Factor: 2}
	if err := conn.WaitEncounterReport(ctx, id, b, func(s string) {
		if !f.quiet {
			fmt.Fprintf(stderr, "encounter report %s: %s\n", id, s)
		}
	}); err != nil {
		return nil, false, fmt.Errorf("waiting for the encounter report: %w", err)
	}
	fh, err := download(rs.TempDir, func(w io.Writer) (int64, error) { return conn.DownloadEncounterReport(ctx, id, w) })
	if err != nil {
		return nil, false, fmt.Errorf("downloading the encounter report: %w", err)
	}
	return fh, true, nil
}
