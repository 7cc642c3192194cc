package solomod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cheggaaa/pb/v3"
	"github.com/mattn/go-isatty"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/report"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// runImport runs the import and returns its exit status: 0 all rows
// imported, 1 some refused, 2 could not start or failed.
func runImport(ctx context.Context, f importFlags, stdout, stderr io.Writer) (int, error) {
	if err := checkImportFlags(f); err != nil {
		return 2, err
	}
	m, err := bridge.LoadMapping(f.mappingSpec, nil)
	if err != nil {
		return 2, err
	}
	var c *bridge.CommandConfig
	var conn *solo.Connector
	if f.file == "" || f.toStore || f.configFile != "" || os.Getenv("FHIRBRIDGE_CONFIG") != "" {
		if c, conn, err = importConfig(f, f.file == ""); err != nil {
			return 2, err
		}
	}
	var password string
	if f.encounterReport {
		if password, err = zipPassword(f, c); err != nil {
			return 2, err
		}
	}
	fh, remove, err := fetchReport(ctx, f, c, conn, password, stderr)
	if err != nil {
		return 2, err
	}
	defer func() {
		fh.Close()
		if remove {
			os.Remove(fh.Name())
		}
	}()
	in, size, closeIn, err := reportText(ctx, f, c, fh, password, stderr)
	if err != nil {
		return 2, err
	}
	defer closeIn()
	sink, finish, err := openSink(ctx, f, c, stdout)
	if err != nil {
		return 2, err
	}
	prog := newProgress(size, f.quiet, stderr)
	sum, runErr := report.Run(ctx, report.Options{
		Mapping: m, In: in, Sink: sink, Workers: f.workers, MaxListed: f.maxListed,
		OnProgress: prog.update, Limits: reportLimits(f, c),
	})
	prog.done()
	refused := errors.Is(runErr, report.ErrRowsRefused)
	if ferr := finish(runErr == nil || refused); ferr != nil && (runErr == nil || refused) {
		runErr, refused = ferr, false
	}
	if sum != nil && !f.quiet {
		printSummary(stderr, sum, sink)
	}
	switch {
	case refused:
		return 1, nil
	case runErr != nil:
		return 2, runErr
	}
	return 0, nil
}

// reportText turns the report file into CSV text: the file itself, or —
// for a zip — its CSV once the whole archive has been verified. Either is
// first read in full and measured against the caps, so a report over them
// applies nothing (the store commits in batches and cannot roll back).
func reportText(ctx context.Context, f importFlags, c *bridge.CommandConfig, fh *os.File, password string, stderr io.Writer) (io.Reader, int64, func(), error) {
	st, err := fh.Stat()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("reading the report: %w", err)
	}
	lim := reportLimits(f, c)
	if !report.IsZip(fh) {
		mp := newProgress(st.Size(), f.quiet, stderr)
		mp.label = "measuring"
		_, err := report.Measure(ctx, fh, lim, func(n int64) { mp.update(n, 0) })
		mp.done()
		if err != nil {
			return nil, 0, nil, fmt.Errorf("measuring the report: %w", err)
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return nil, 0, nil, fmt.Errorf("rewinding the report: %w", err)
		}
		return fh, st.Size(), func() {}, nil
	}
	if password == "" {
		if password, err = zipPassword(f, c); err != nil {
			return nil, 0, nil, err
		}
	}
	a, err := report.OpenArchive(fh, st.Size(), password)
	if err != nil {
		return nil, 0, nil, err
	}
	if err := lim.CheckDeclared(a.Size()); err != nil {
		return nil, 0, nil, fmt.Errorf("checking the report archive: %w", err)
	}
	vr, err := a.Open()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("opening the report archive: %w", err)
	}
	vp := newProgress(a.Size(), f.quiet, stderr)
	vp.label = "verifying"
	_, err = report.Measure(ctx, vr, lim, func(n int64) { vp.update(n, 0) })
	vr.Close()
	vp.done()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("verifying the report archive: %w", err)
	}
	rc, err := a.Open()
	if err != nil {
		return nil, 0, nil, fmt.Errorf("opening the report archive: %w", err)
	}
	return rc, a.Size(), func() { rc.Close() }, nil
}

// openSink returns the output and finish(ok), which commits (ok) or
// discards it.
func openSink(ctx context.Context, f importFlags, c *bridge.CommandConfig, stdout io.Writer) (report.Sink, func(ok bool) error, error) {
	if f.toStore {
		return openStoreSink(ctx, c)
	}
	w, commit, err := report.OpenOutput(f.out, stdout)
	if err != nil {
		return nil, nil, err
	}
	var s report.Sink = report.NewNDJSON(w)
	if f.format == "bundle" {
		s = report.NewBundle(w)
	}
	return s, func(ok bool) error {
		if ok {
			if err := s.Close(); err != nil {
				_ = commit(false)
				return fmt.Errorf("writing output: %w", err)
			}
		}
		return commit(ok)
	}, nil
}

// openStoreSink stores through the FHIR endpoint's backend with the
// routes of the config, as serve does.
func openStoreSink(ctx context.Context, c *bridge.CommandConfig) (report.Sink, func(ok bool) error, error) {
	st, err := c.OpenStore(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the store: %w", err)
	}
	rt, err := c.Router()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	s := &report.StoreSink{Backend: &ingest.Backend{Store: st, Router: rt}, Visit: report.SoloVisit}
	return s, func(ok bool) error {
		defer st.Close()
		if ok {
			return s.Close()
		}
		return nil
	}, nil
}

// progress shows a pb bar on a terminal, else a plain line every 5 s.
type progress struct {
	mu    sync.Mutex
	bar   *pb.ProgressBar
	w     io.Writer
	label string
	last  time.Time
	quiet bool
	n     int64
	rows  int
}

func newProgress(size int64, quiet bool, stderr io.Writer) *progress {
	p := &progress{w: stderr, quiet: quiet, label: "importing", last: time.Now()}
	if quiet {
		return p
	}
	if fd, ok := stderr.(*os.File); ok && isatty.IsTerminal(fd.Fd()) && size > 0 {
		p.bar = pb.New64(size).Set(pb.Bytes, true).SetWriter(stderr).Start()
	}
	return p
}

func (p *progress) update(n int64, rows int) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.rows = n, rows
	if p.bar != nil {
		p.bar.SetCurrent(n)
		return
	}
	if time.Since(p.last) >= 5*time.Second {
		p.last = time.Now()
		fmt.Fprintf(p.w, "%s: %d rows, %.1f MB\n", p.label, rows, float64(n)/(1<<20))
	}
}

func (p *progress) done() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// printSummary writes the summary: counts and line numbers only.
func printSummary(w io.Writer, s *report.Summary, sink report.Sink) {
	fmt.Fprintf(w, "rows: %d read, %d mapped, %d refused\n", s.Read, s.Mapped, s.Refused)
	for _, r := range s.Listed {
		fmt.Fprintf(w, "  refused line %d: %s\n", r.Line, strings.ReplaceAll(r.Reason, "\n", " "))
	}
	if s.Refused > len(s.Listed) {
		fmt.Fprintf(w, "  … %d more refused rows not listed\n", s.Refused-len(s.Listed))
	}
	fmt.Fprintf(w, "resources: %d Encounter, %d Patient (%d repeated Patients left out)\n", s.Resources["Encounter"], s.Resources["Patient"], s.PatientsRepeated)
	if ss, ok := sink.(*report.StoreSink); ok {
		fmt.Fprintf(w, "store: %d stored, %d Patients already stored left alone\n", ss.Stored, ss.PatientsKept)
	}
	fmt.Fprintf(w, "by status:%s\n", counts(s.ByStatus))
	fmt.Fprintf(w, "by day:%s\n", counts(s.ByDay))
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(&b, " %s=%d", name, m[k])
	}
	return b.String()
}
