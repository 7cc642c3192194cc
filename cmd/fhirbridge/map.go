package main

import (
	"errors"
	"fmt"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"io"
	"os"
	"strings"

	"github.com/cheggaaa/pb/v3"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/mapjob"
	"github.com/fhirbridge/fhirbridge/batch/report"
)

func newMapCmd() *cobra.Command {
	var (
		mappingSpec, in, out, format, delim string
		params                              []string
		workers                             int
		crlf, quiet, strict                 bool
	)
	cmd := &cobra.Command{
		Use:   "map --mapping NAME|FILE --in FILE|- [--out FILE] [--format ndjson|csv|json] [--param k=v]...",
		Short: "Map FHIR resources to vendor records, or a vendor file back to FHIR",
		Long: `map runs one mapping over a whole input.

A forward mapping (FHIR → vendor) reads one resource, a Bundle (any type) or
NDJSON (one resource or Bundle per line, streamed: memory stays flat on any
size) and maps every resource of the mapping's source type; references are
resolved inside each Bundle. A reverse mapping (vendor → FHIR) reads the
vendor's file: CSV with a header row of the vendor's column names (delimiter
, ; | or TAB detected; CRLF or LF) or NDJSON records; a mapping with
input: hl7v2 reads HL7 v2 messages (ER7), one after the other or in a batch
file FHS/BHS/.../BTS/FTS, and writes one resource per message.

A record that fails is reported on stderr with its place in the input
(line N, Bundle.entry[i], message N and its HL7 v2 field) and the others
still map; the exit status is 1 when
any record failed, 2 when the run could not start. Errors never show values
from the records.

Output: NDJSON (one record per line), CSV (header of the vendor's column
names; the default for row mappings; an empty run still writes the header)
or JSON (one array).`,
		Example: `  fhirbridge map --mapping VENDOR/NAME --in fixtures/demo/appointments.json --param timezone=Europe/Madrid
  fhirbridge map --mapping VENDOR/NAME --in patients.ndjson --out vendor.ndjson
  fhirbridge map --mapping VENDOR/REVERSE-NAME --in vendor-file.csv
  fhirbridge map --mapping hl7v2/siu-appointment --in messages.hl7 --param zone=Europe/Rome
  fhirbridge map --mapping ./my-export.yaml --in - --format json < bundle.json
(VENDOR/NAME: a shipped mapping, listed by fhirbridge mappings; the README's
mapping sections show each vendor's)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mappingSpec == "" || in == "" {
				return errors.New("map needs --mapping and --in (see fhirbridge map --help)")
			}
			pm, err := parseParams(params)
			if err != nil {
				return err
			}
			m, err := bridge.LoadMapping(mappingSpec, pm)
			if err != nil {
				return err
			}
			r, size, closeIn, err := openInput(in, cmd.InOrStdin())
			if err != nil {
				return err
			}
			defer closeIn()
			w, commit, err := report.OpenOutput(out, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			d, err := delimiter(delim)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			opt := mapjob.Options{
				Mapping: m, In: r, Out: w, Format: mapjob.Format(format), Workers: workers,
				Delimiter: d, CRLF: crlf, Strict: strict,
				OnError: func(e *mapjob.RecordError) {
					fmt.Fprintln(stderr, "error:", strings.ReplaceAll(e.Error(), "\n", "\n    "))
				},
			}
			bar := progressBar(size, quiet, stderr)
			if bar != nil {
				opt.OnProgress = func(n int64) { bar.SetCurrent(n) }
			}
			st, runErr := mapjob.Run(cmd.Context(), opt)
			if bar != nil {
				bar.SetCurrent(size)
				bar.Finish()
			}
			if cerr := commit(runErr == nil || errors.Is(runErr, mapjob.ErrRecordsFailed)); cerr != nil && runErr == nil {
				runErr = cerr
			}
			if !quiet {
				fmt.Fprintf(stderr, "%s: %d read, %d written, %d skipped, %d failed\n", m.Name(), st.Read, st.Written, st.Skipped, st.Failed)
			}
			if errors.Is(runErr, mapjob.ErrRecordsFailed) {
				return exitError{code: 1}
			}
			return runErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&mappingSpec, "mapping", "", "shipped mapping name (listed by fhirbridge mappings) or path of a mapping file")
	f.StringVar(&in, "in", "", "input file, or - for standard input")
	f.StringVar(&out, "out", "", "output file (written to a temporary name, then renamed); default standard output")
	f.StringVar(&format, "format", "", "output format: ndjson, csv or json (default: csv for row mappings, else ndjson)")
	f.StringArrayVar(&params, "param", nil, "run-time parameter NAME=VALUE of the mapping (repeatable), e.g. timezone=Europe/Madrid")
	f.IntVar(&workers, "workers", 0, "records mapped in parallel (default: the number of CPUs)")
	f.StringVar(&delim, "delimiter", ",", "CSV output delimiter: , ; | or tab")
	f.BoolVar(&crlf, "crlf", false, "CSV output with CRLF line endings")
	f.BoolVar(&strict, "strict", false, "validate every input resource against FHIR R4 first (slower); invalid ones are reported with every problem, not mapped")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar and no summary line")
	return cmd
}

func delimiter(s string) (rune, error) {
	switch s {
	case ",", ";", "|":
		return rune(s[0]), nil
	case "tab", "\\t", "\t":
		return '\t', nil
	}
	return 0, fmt.Errorf("--delimiter %q: want , ; | or tab", s)
}

// openInput opens FILE or standard input; size is 0 when unknown.
func openInput(path string, stdin io.Reader) (io.Reader, int64, func(), error) {
	if path == "-" {
		return stdin, 0, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("opening input: %w", err)
	}
	var size int64
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// progressBar shows bytes read when stderr is a terminal and the input
// size is known.
func progressBar(size int64, quiet bool, stderr io.Writer) *pb.ProgressBar {
	if quiet || size <= 0 {
		return nil
	}
	f, ok := stderr.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	bar := pb.New64(size).Set(pb.Bytes, true).SetWriter(stderr)
	return bar.Start()
}
