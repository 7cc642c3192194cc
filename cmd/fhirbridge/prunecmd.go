package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/retention"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// newStoreCmd is `fhirbridge store`: maintenance of the store serve uses.
func newStoreCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Maintain the store: prune history past its retention",
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default: embedded defaults, or $FHIRBRIDGE_CONFIG)")
	prune := &cobra.Command{
		Use:   "prune",
		Short: "Run one retention pass now (the retention: section), printing progress",
		Long: `prune deletes, in small batches, what the retention: section says the store
no longer keeps (delivered jobs, old resource versions, stored responses,
messages, ledger entries, export slots) and prints the rows deleted per
table. It is safe while serve runs: serve's own retention job may prune
at the same time, each row is deleted once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, configFile, func(ctx context.Context, c *config.Config, st *store.Store) error {
				out := cmd.OutOrStdout()
				p, err := retention.New(st, retention.FromConfig(c.Retention), retention.Options{
					Progress: func(table string, n int64) {
						if n > 0 {
							fmt.Fprintf(out, "%s: %d deleted so far\n", table, n)
						}
					},
				})
				if err != nil {
					return err
				}
				rep, err := p.Pass(ctx)
				for _, t := range []string{retention.TableDeliveryJobs, retention.TableResourceVersions, retention.TableRequests,
					retention.TableMessages, retention.TableFileLedger, retention.TableExportSlots} {
					fmt.Fprintf(out, "%-18s %d\n", t, rep.Deleted[t])
				}
				if rep.Partial {
					fmt.Fprintln(out, "stopped at the pass budget: run again to go on")
				}
				return err
			})
		},
	}
	cmd.AddCommand(prune)
	return cmd
}
