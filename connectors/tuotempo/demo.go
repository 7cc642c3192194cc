package tuotempo

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
)

// demoWait bounds how long the demo waits for serve's poller to take the
// cancellation file.
var demoWait = 30 * time.Second

// demoCancellations is the cancellation file (spec A.1.2.1) of the demo's
// inputs that the demo drops into the folder.
const demoCancellations = "cancellations.csv"

// demo is the tuOtempO module's part of `fhirbridge demo`: a local folder
// stands in for tuOtempO's server; the daily export of the stored
// Appointments is run once into it, then tuOtempO's cancellation file is
// dropped there and serve's poller takes it back into FHIR (whence the
// cancellation flows on to the other vendors' routes).
func demo() bridge.Demo {
	return bridge.Demo{
		Summary: "a local folder as tuOtempO's server: the daily export of the stored Appointments run once into it, then tuOtempO's cancellation file dropped there and taken back into FHIR by serve's poller",
		Start:   startDemo,
	}
}

// startDemo makes the folder dir/tuotempo.
func startDemo(dir string) (*bridge.DemoRun, error) {
	drop := filepath.Join(dir, "tuotempo")
	if err := os.MkdirAll(drop, 0o750); err != nil {
		return nil, fmt.Errorf("making the demo's tuOtempO folder: %w", err)
	}
	return &bridge.DemoRun{
		Section: fmt.Sprintf(`remote: {kind: local, dir: %q}
exports:
  - {name: tuotempo-daily, schedule: "0 6 * * *", timezone: Europe/Madrid, format: {delimiter: ";"}}
cancellations:
  - {name: tuotempo-cancellations, every: 100ms, min_age: 10ms}
`, drop),
		Steps: []bridge.DemoStep{
			{Stage: bridge.DemoRuns, Run: func(ctx context.Context, env *bridge.DemoEnv) (string, error) { return demoExport(ctx, env, drop) }},
			{Stage: bridge.DemoRuns, Run: func(ctx context.Context, env *bridge.DemoEnv) (string, error) {
				return demoCancel(ctx, env, drop)
			}},
		},
	}, nil
}

// demoModule is the configured tuOtempO instance of env.
func demoModule(env *bridge.DemoEnv) (*Module, error) {
	if env.Modules != nil {
		if m, ok := env.Modules.Get(Name); ok {
			if tm, ok := m.(*Module); ok {
				return tm, nil
			}
		}
	}
	return nil, fmt.Errorf("the demo's configuration has no %s section", section)
}

// demoExport runs the first export job once at 2026-12-01 06:00 in its
// time zone (the demo Bundle's appointment day) and shows the file.
func demoExport(ctx context.Context, env *bridge.DemoEnv, drop string) (string, error) {
	m, err := demoModule(env)
	if err != nil {
		return "", err
	}
	jobs, err := m.ExportJobs()
	if err != nil {
		return "", err
	}
	if len(jobs) == 0 {
		return "", fmt.Errorf("the demo's %s.exports is empty", section)
	}
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, jobs[0].Location())
	var summary bytes.Buffer
	if err := m.RunExport(ctx, &summary, env.Store, jobs[0], at, false); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tuOtempO export at %s (%s), window 24 h back to 72 h ahead, into %s:\n   %s",
		at.Format("2006-01-02 15:04"), jobs[0].Location(), drop, summary.String())
	name := "appointments_" + at.Format("20060102T1504") + ".csv"
	csv, err := os.ReadFile(filepath.Join(drop, name))
	if err != nil {
		return "", fmt.Errorf("reading the exported file: %w", err)
	}
	quote(&b, csv)
	return b.String(), nil
}

// demoCancel drops the demo's cancellation file into the folder, waits
// for serve's poller to take it and shows its report.
func demoCancel(ctx context.Context, env *bridge.DemoEnv, drop string) (string, error) {
	cancels, err := fs.ReadFile(env.Inputs, demoCancellations)
	if err != nil {
		return "", fmt.Errorf("reading the demo's %s: %w", demoCancellations, err)
	}
	const name = "cancellations_demo.csv"
	if err := os.WriteFile(filepath.Join(drop, name), cancels, 0o600); err != nil {
		return "", fmt.Errorf("dropping the cancellation file: %w", err)
	}
	// the poller moves a file it read, with its report, to error/ when a
	// row failed (the demo's file has such rows) or to processed/
	var report string
	deadline := time.Now().Add(demoWait)
	for report == "" {
		for _, d := range []string{"error", "processed"} {
			p := filepath.Join(drop, d, name+".report.txt")
			if _, err := os.Stat(p); err == nil {
				report = p
			}
		}
		if report != "" {
			break
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the cancellation file was not processed within %s", demoWait)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	rep, err := os.ReadFile(report)
	if err != nil {
		return "", fmt.Errorf("reading the cancellation file's report: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tuOtempO's cancellation file dropped in the folder (%s); serve's poller takes it once stable:\n", path.Join(env.InputsName, demoCancellations))
	quote(&b, rep)
	return b.String(), nil
}

// quote writes each line of text to b as "   | line".
func quote(b *strings.Builder, text []byte) {
	for _, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		fmt.Fprintf(b, "   | %s\n", l)
	}
}
