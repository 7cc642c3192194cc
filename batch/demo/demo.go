// Package demo runs the bridge's demo: the bridge on SQLite in a
// temporary folder with every demo module's stand-in for its vendor
// behind it, the demo transaction Bundle posted as an interface engine
// would, and each module's steps run and printed, numbered.
package demo

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

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// SettleLimit bounds how long the demo waits for the delivery queue to
// settle before each stage of steps.
var SettleLimit = 30 * time.Second

// part is one module's part of a demo run.
type part struct {
	name string
	run  *bridge.DemoRun
}

// Run runs the demo in the data folder dir and prints it to out. inputs
// holds the demo's files (appointments.json, the transaction Bundle it
// posts, and what the modules' steps read), named inputsName in the text.
func Run(ctx context.Context, out io.Writer, dir string, inputs fs.FS, inputsName string) error {
	var parts []part
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
		parts = append(parts, part{m.Name, run})
	}
	cfgPath := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(configText(dir, parts)), 0o600); err != nil {
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

	env := &bridge.DemoEnv{Dir: dir, Store: st, Modules: mods, Inputs: inputs, InputsName: inputsName}
	n := 1
	for _, stage := range []bridge.DemoStage{bridge.DemoDelivered, bridge.DemoRuns, bridge.DemoAfter} {
		if err := settle(ctx, st, SettleLimit); err != nil {
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

// configText is the demo's configuration: SQLite in dir, loopback only,
// and each part's connector section and routes.
func configText(dir string, parts []part) string {
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %q\nserver: {listen: \"127.0.0.1:0\"}\nconnectors:\n", dir)
	for _, p := range parts {
		fmt.Fprintf(&b, "  %s:\n%s", p.name, Indent(p.run.Section, "    "))
	}
	b.WriteString("routes:\n")
	for _, p := range parts {
		b.WriteString(Indent(p.run.Routes, "  "))
	}
	return b.String()
}

// Wrap breaks text into lines of at most width columns (a longer word
// stays whole), the lines after the first starting with cont.
func Wrap(text string, width int, cont string) string {
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

// Indent prefixes every non-empty line of text with prefix.
func Indent(text, prefix string) string {
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
