package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

func newFilesCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "files",
		Short: "The file ledger: exports written and inbound files read",
		Long: `files shows the ledger of the store that serve uses (the same --config, or
the embedded defaults): every export written (direction out) and every
inbound file read (direction in), with its time, job, path, size, SHA-256,
rows applied and refused, and outcome (ok, partial, failed, duplicate).
reprocess re-runs one inbound file on purpose.`,
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default: embedded defaults, or $FHIRBRIDGE_CONFIG)")
	var dir, job string
	var limit int
	list := &cobra.Command{
		Use:   "list [--direction in|out] [--job NAME] [--limit N]",
		Short: "List ledger entries, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir != "" && dir != string(ledger.In) && dir != string(ledger.Out) {
				return fmt.Errorf("--direction %q: want in or out", dir)
			}
			return withStore(cmd, configFile, func(ctx context.Context, _ *config.Config, st *store.Store) error {
				entries, err := ledger.List(ctx, st, ledger.Filter{Direction: ledger.Direction(dir), Job: job, Limit: limit})
				if err != nil {
					return err
				}
				return writeLedger(cmd.OutOrStdout(), entries)
			})
		},
	}
	list.Flags().StringVar(&dir, "direction", "", "only exports (out) or inbound files (in)")
	list.Flags().StringVar(&job, "job", "", "only this job (the name in the config)")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many entries")
	var rjob string
	re := &cobra.Command{
		Use:   "reprocess PATH [--job NAME]",
		Short: "Re-run one inbound file on purpose",
		Long: `reprocess reads one inbound file again from the remote of its job — PATH as the
ledger shows it, found also under processed/ or error/ — and applies its rows
again even though the ledger has it (rows that change nothing write nothing),
recording a new ledger entry. Use it after fixing what made rows fail (an
appointment that was missing). --job names the inbound job when several are
configured.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, configFile, func(ctx context.Context, c *config.Config, st *store.Store) error {
				return reprocess(ctx, cmd.OutOrStdout(), c, st, rjob, args[0])
			})
		},
	}
	re.Flags().StringVar(&rjob, "job", "", "the inbound job (its name in the connector's section)")
	cmd.AddCommand(list, re)
	return cmd
}

// writeLedger prints entries as the `files list` table: one line per
// entry, the detail on that line (white space folded, cut to detailWidth).
func writeLedger(w io.Writer, entries []ledger.Entry) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDIR\tJOB\tFILE\tROWS OK\tFAILED\tBYTES\tSHA-256\tOUTCOME\tDETAIL")
	for _, e := range entries {
		sum := e.SHA256
		if len(sum) > 12 {
			sum = sum[:12]
		}
		detail := cell(e.Detail, detailWidth)
		if detail == "" {
			detail = noValue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Direction, cell(e.Job, 0), cell(e.Path, 0),
			e.RowsOK, e.RowsFailed, e.Size, sum, e.Outcome, detail)
	}
	return tw.Flush()
}

// reprocess re-runs one inbound file through the configured module whose
// inbound job it is (bridge.PickReprocessor, as the console does), with
// the routes' router so that what it changes flows on as under serve.
func reprocess(ctx context.Context, out io.Writer, c *config.Config, st *store.Store, job, file string) error {
	mods, err := app.Modules(c)
	if err != nil {
		return err
	}
	rp, err := bridge.PickReprocessor(mods.FileReprocessors(), job)
	if err != nil {
		return err
	}
	_, rt, err := app.Flows(c, mods)
	if err != nil {
		return err
	}
	return rp.Reprocess(ctx, out, st, rt, job, file)
}
