package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fixtures"
)

// demoSettle bounds how long the demo waits for the delivery queue to
// settle before each stage of steps.
var demoSettle = 30 * time.Second

func newDemoCmd() *cobra.Command {
	var keep bool
	var parts strings.Builder
	for _, m := range bridge.Modules() {
		if m.Demo != nil {
			parts.WriteString(wrap("  "+m.Name+": "+m.Demo().Summary+".", 76, "    "))
		}
	}
	cmd := &cobra.Command{
		Use:   "demo [--keep]",
		Short: "Run the whole flow on the embedded defaults: an EHR Bundle out to simulated vendors, their files back",
		Long: `demo starts the bridge (SQLite in a temporary folder, loopback only) with
every demo module's stand-in for its vendor behind it, posts the synthetic
transaction Bundle fixtures/demo/appointments.json as an interface engine
would, waits for the deliveries, and then runs and prints each module's
steps, numbered; it ends with "All delivered." The modules' parts:

` + parts.String() + `
Nothing to install. --keep leaves the data folder and says where: its
fhirbridge.yaml works as it is (secrets are files in the folder), e.g.
"fhirbridge deliveries list --config <folder>/fhirbridge.yaml".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "fhirbridge-demo-*")
			if err != nil {
				return fmt.Errorf("making the demo's data folder: %w", err)
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			out := cmd.OutOrStdout()
			if err := runDemo(cmd.Context(), out, dir); err != nil {
				return err
			}
			if keep {
				cfg := filepath.Join(dir, "fhirbridge.yaml")
				fmt.Fprintf(out, "\nKept the data folder %s. Its configuration works as it is (the simulators have stopped); for instance:\n  fhirbridge deliveries list --config %s\n", dir, cfg)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's data folder (printed at the end) for a look with --config <folder>/fhirbridge.yaml")
	return cmd
}

// demoPart is one module's part of a demo run.
type demoPart struct {
	name string
	run  *bridge.DemoRun
}

// runDemo runs the demo in the data folder dir and prints it to out.
func runDemo(ctx context.Context, out io.Writer, dir string) error {
	var parts []demoPart
	defer func() {
		for _, p := range parts {
			if p.run.Stop != nil {
				p.run.Stop()
			}
		}
	}()
	for _, m := range bridge.Modules() {
		if m.Demo == nil {
			continue
		}
		run, err := m.Demo().Start(dir)
		if err != nil {
			return fmt.Errorf("demo of %s: %w", m.Name, err)
		}
		parts = append(parts, demoPart{m.Name, run})
	}
	cfgPath := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(demoConfig(dir, parts)), 0o600); err != nil {
		return fmt.Errorf("writing the demo's configuration: %w", err)
	}
	c, err := config.Load(cfgPath, nil)
	if err != nil {
		return fmt.Errorf("the demo's configuration %s: %w", cfgPath, err)
	}
	mods, err := app.Modules(c)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, c.Database.URL.Reveal())
	if err != nil {
		return fmt.Errorf("opening the demo's store: %w", err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	base := "http://" + addr
	where := []string{fmt.Sprintf("bridge on %s (SQLite in %s)", base, dir)}
	for _, p := range parts {
		if p.run.Where != "" {
			where = append(where, p.run.Where)
		}
	}
	fmt.Fprintf(out, "%s\n\n", strings.Join(where, ", "))

	inputs, err := fs.Sub(fixtures.Demo, "demo")
	if err != nil {
		return err
	}
	bundle, err := fs.ReadFile(inputs, "appointments.json")
	if err != nil {
		return fmt.Errorf("reading the demo Bundle: %w", err)
	}
	resp, err := http.Post(base+"/fhir", "application/fhir+json", strings.NewReader(string(bundle)))
	if err != nil {
		return fmt.Errorf("posting the demo Bundle: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var entries struct{ Entry []json.RawMessage }
	if err := json.Unmarshal(bundle, &entries); err != nil {
		return fmt.Errorf("reading the demo Bundle: %w", err)
	}
	fmt.Fprintf(out, "1. POST /fhir with the demo transaction Bundle (%d entries): HTTP %d %s\n", len(entries.Entry), resp.StatusCode, bundleSummary(string(body)))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the bridge answered the demo Bundle with HTTP %d", resp.StatusCode)
	}

	env := &bridge.DemoEnv{Dir: dir, Store: st, Modules: mods, Inputs: inputs, InputsName: "fixtures/demo"}
	n := 1
	for _, stage := range []bridge.DemoStage{bridge.DemoDelivered, bridge.DemoRuns, bridge.DemoAfter} {
		if err := settle(ctx, st, demoSettle); err != nil {
			return err
		}
		for _, p := range parts {
			for _, s := range p.run.Steps {
				if s.Stage != stage {
					continue
				}
				text, err := s.Run(ctx, env)
				if text != "" {
					n++
					fmt.Fprintf(out, "\n%d. %s", n, text)
					if !strings.HasSuffix(text, "\n") {
						fmt.Fprintln(out)
					}
				}
				if err != nil {
					return fmt.Errorf("demo of %s: %w", p.name, err)
				}
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	fmt.Fprintln(out, "\nAll delivered. Next: fhirbridge serve --help, and the configuration reference in the README.")
	return nil
}

// demoConfig is the demo's configuration: SQLite in dir, loopback only,
// and each part's connector section and routes.
func demoConfig(dir string, parts []demoPart) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nserver: {listen: \"127.0.0.1:0\"}\nconnectors:\n", dir)
	for _, p := range parts {
		fmt.Fprintf(&b, "  %s:\n%s", p.name, indent(p.run.Section, "    "))
	}
	b.WriteString("routes:\n")
	for _, p := range parts {
		b.WriteString(indent(p.run.Routes, "  "))
	}
	return b.String()
}

// wrap breaks text into lines of at most width columns (a longer word
// stays whole), the lines after the first starting with cont.
func wrap(text string, width int, cont string) string {
	var b strings.Builder
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = strings.Repeat(" ", len(text)-len(strings.TrimLeft(text, " "))) + w
		case len(line)+1+len(w) > width:
			b.WriteString(line + "\n")
			line = cont + w
		default:
			line += " " + w
		}
	}
	return b.String() + line + "\n"
}

// indent prefixes every non-empty line of text with prefix.
func indent(text, prefix string) string {
	var b strings.Builder
	for l := range strings.Lines(text) {
		if strings.TrimSpace(l) != "" {
			b.WriteString(prefix)
		}
		b.WriteString(l)
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// settle waits until the delivery queue holds no pending or in-flight job.
func settle(ctx context.Context, st *store.Store, limit time.Duration) error {
	q := delivery.NewQueue(st)
	deadline := time.Now().Add(limit)
	for {
		var open []delivery.JobInfo
		for _, state := range []delivery.State{delivery.StatePending, delivery.StateInFlight} {
			jobs, err := q.List(ctx, delivery.Filter{State: state})
			if err != nil {
				return fmt.Errorf("reading the delivery queue: %w", err)
			}
			open = append(open, jobs...)
		}
		if len(open) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var refs []string
			for _, j := range open {
				refs = append(refs, j.Flow+" "+j.ResourceType+"/"+j.ResourceID)
			}
			slices.Sort(refs)
			return fmt.Errorf("deliveries incomplete after %s: %d jobs still pending (%s)", limit, len(open), strings.Join(refs, ", "))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the deliveries: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// bundleSummary lists the entry statuses of a transaction-response.
func bundleSummary(body string) string {
	n := strings.Count(body, `"status":"201`)
	m := strings.Count(body, `"status":"200`)
	return fmt.Sprintf("(transaction-response: %d created, %d updated)", n, m)
}
