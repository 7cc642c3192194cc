package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

func newDeliveriesCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "deliveries",
		Short: "Operate the delivery queue: list, show, retry, discard",
		Long: `deliveries operates the queue of the store that serve uses (the same --config,
or the embedded defaults). Jobs show ids, flow, resource type/id/version,
state (pending, in_flight, dlq, delivered, discarded), attempts and the last
classified reason — never patient values. retry puts a dead-lettered or
pending job back to run now; discard ends a job that must not be sent.`,
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default: embedded defaults, or $FHIRBRIDGE_CONFIG)")
	withQueue := func(cmd *cobra.Command, fn func(ctx context.Context, q *delivery.Queue) error) error {
		return withStore(cmd, configFile, func(ctx context.Context, _ *config.Config, st *store.Store) error {
			return fn(ctx, delivery.NewQueue(st))
		})
	}
	var state, flow string
	var limit int
	list := &cobra.Command{
		Use:   "list [--state STATE] [--flow NAME] [--limit N]",
		Short: "List delivery jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withQueue(cmd, func(ctx context.Context, q *delivery.Queue) error {
				jobs, err := q.List(ctx, delivery.Filter{State: delivery.State(state), Flow: flow, Limit: limit})
				if err != nil {
					return err
				}
				return writeJobs(cmd.OutOrStdout(), jobs)
			})
		},
	}
	list.Flags().StringVar(&state, "state", "", "only jobs in this state (pending, in_flight, dlq, delivered, discarded)")
	list.Flags().StringVar(&flow, "flow", "", "only jobs of this flow (route name)")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many jobs (0: all)")
	one := func(use, short string, fn func(ctx context.Context, q *delivery.Queue, id int64, cmd *cobra.Command) error) *cobra.Command {
		return &cobra.Command{
			Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := strconv.ParseInt(args[0], 10, 64)
				if err != nil {
					return fmt.Errorf("job id %q: want a number", args[0])
				}
				return withQueue(cmd, func(ctx context.Context, q *delivery.Queue) error { return fn(ctx, q, id, cmd) })
			},
		}
	}
	cmd.AddCommand(list,
		one("show", "Show one delivery job", func(ctx context.Context, q *delivery.Queue, id int64, cmd *cobra.Command) error {
			j, err := q.Show(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "id:         %d\nflow:       %s\nresource:   %s/%s/_history/%d\nstate:      %s\nattempts:   %d\nnext run:   %s\nlast error: %s\ncreated:    %s\nupdated:    %s\n",
				j.ID, j.Flow, j.ResourceType, j.ResourceID, j.Version, j.State, j.Attempts, nextRun(j), cell(j.LastError, 0), j.CreatedAt.UTC().Format(time.RFC3339), j.UpdatedAt.UTC().Format(time.RFC3339))
			return nil
		}),
		one("retry", "Run a pending or dead-lettered job again now", func(ctx context.Context, q *delivery.Queue, id int64, cmd *cobra.Command) error {
			if err := q.Retry(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %d queued to run now\n", id)
			return nil
		}),
		one("discard", "End a job that must not be delivered", func(ctx context.Context, q *delivery.Queue, id int64, cmd *cobra.Command) error {
			if err := q.Discard(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "job %d discarded\n", id)
			return nil
		}),
	)
	return cmd
}

// writeJobs prints jobs as the `deliveries list` table: one line per job,
// the last error on that line (cut to detailWidth; `show` has it whole).
func writeJobs(w io.Writer, jobs []delivery.JobInfo) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFLOW\tRESOURCE\tSTATE\tATTEMPTS\tNEXT RUN\tLAST ERROR")
	for _, j := range jobs {
		last := cell(j.LastError, detailWidth)
		if last == "" {
			last = noValue
		}
		fmt.Fprintf(tw, "%d\t%s\t%s/%s/_history/%d\t%s\t%d\t%s\t%s\n", j.ID, cell(j.Flow, 0), j.ResourceType, cell(j.ResourceID, 0), j.Version, j.State, j.Attempts, nextRun(j), last)
	}
	return tw.Flush()
}
