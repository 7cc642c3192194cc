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
pending job back to run now; retry-dead does so for every dead letter of a
flow and time span (the console's bulk retry); discard ends a job that must
not be sent.`,
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
	var dflow, since, until string
	var yes bool
	retryDead := &cobra.Command{
		Use:   "retry-dead [--flow NAME] [--since TIME] [--until TIME] [--yes]",
		Short: "Run the dead letters of a flow and time span again now",
		Long: `retry-dead counts the dead letters of --flow (all flows by default) whose last
change lies from --since to before --until (RFC 3339, or 2006-01-02T15:04 in
UTC; open by default) and, with --yes, retries exactly those: a letter that
dies after the count is left. Without --yes it only prints the count.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := delivery.Query{}
			if dflow != "" {
				q.Flows = []string{dflow}
			}
			var err error
			if q.Since, err = cliTime("--since", since); err != nil {
				return err
			}
			if q.Until, err = cliTime("--until", until); err != nil {
				return err
			}
			return withQueue(cmd, func(ctx context.Context, dq *delivery.Queue) error {
				sel, err := dq.CountDead(ctx, q)
				if err != nil {
					return err
				}
				if !yes || sel.Count == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%d dead letters match", sel.Count)
					if sel.Count > 0 {
						fmt.Fprint(cmd.OutOrStdout(), "; add --yes to retry them")
					}
					fmt.Fprintln(cmd.OutOrStdout())
					return nil
				}
				n, err := dq.RetryDead(ctx, q, sel.MaxID)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d dead letters queued to run now\n", n)
				return nil
			})
		},
	}
	retryDead.Flags().StringVar(&dflow, "flow", "", "only dead letters of this flow (route name)")
	retryDead.Flags().StringVar(&since, "since", "", "only dead letters last changed at or after this time")
	retryDead.Flags().StringVar(&until, "until", "", "only dead letters last changed before this time")
	retryDead.Flags().BoolVar(&yes, "yes", false, "retry them (without it: only count)")
	cmd.AddCommand(list, retryDead,
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

// cliTime reads a time flag: RFC 3339, or 2006-01-02T15:04 in UTC ("" is
// zero).
func cliTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 or 2006-01-02T15:04 (UTC)", flag, s)
	}
	return t, nil
}
