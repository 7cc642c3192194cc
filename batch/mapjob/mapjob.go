// Package mapjob runs a mapping over a whole input: FHIR resources, Bundles
// or NDJSON into vendor records (forward), or a vendor's CSV or NDJSON file
// into FHIR resources (reverse). Records are mapped in parallel and written
// in input order; a record that fails is reported with where it is in the
// input (line number, Bundle entry) and the others still map.
package mapjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/fhirbridge/fhirbridge/mapping"
)

// Format is an output format.
type Format string

// The output formats.
const (
	// NDJSON writes one record (or FHIR resource) per line.
	NDJSON Format = "ndjson"
	// CSV writes a header row of the mapping's columns, then one row per record.
	CSV Format = "csv"
	// JSON writes one JSON array holding every record.
	JSON Format = "json"
)

// Options configures one run.
type Options struct {
	Mapping *mapping.Mapping
	In      io.Reader
	Out     io.Writer
	// Format of the output; empty picks CSV for row mappings, else NDJSON.
	Format Format
	// Workers mapping in parallel; 0 means GOMAXPROCS.
	Workers int
	// Delimiter of CSV output (default ',') and CRLF line endings.
	Delimiter rune
	CRLF      bool
	// Strict validates every input document against FHIR R4 before
	// mapping (see fhir.Validate); invalid resources are reported with
	// every problem and its element path, and not mapped.
	Strict bool
	// OnError receives each failed record, in input order. Its error says
	// where (line, entry) and what, never a value from the record.
	OnError func(err *RecordError)
	// OnProgress, when set, is called from one goroutine with the number
	// of input bytes consumed so far.
	OnProgress func(bytes int64)
}

// Stats counts what a run did.
type Stats struct {
	Read    int // input records or resources considered
	Written int // output records written
	Skipped int // not of the source type, or excluded by the mapping's `when`
	Failed  int // reported through OnError
}

// RecordError is one input record that could not be read or mapped.
type RecordError struct {
	// Where locates the record: "line 7", "line 1: Bundle.entry[3]".
	Where string
	Err   error
}

func (e *RecordError) Error() string {
	if e.Where == "" {
		return e.Err.Error()
	}
	return e.Where + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *RecordError) Unwrap() error { return e.Err }

// ErrRecordsFailed is returned by Run when at least one record failed.
var ErrRecordsFailed = errors.New("some records failed")

// Run maps the whole input. It returns ErrRecordsFailed (wrapped, with the
// count) when records failed, and any read or write error as it happens.
func Run(ctx context.Context, opt Options) (Stats, error) {
	if opt.Mapping == nil {
		return Stats{}, errors.New("mapjob: no mapping")
	}
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Format == "" {
		opt.Format = NDJSON
		if opt.Mapping.Output() == "row" {
			opt.Format = CSV
		}
	}
	if opt.Format == CSV && opt.Mapping.Direction() == mapping.Reverse {
		return Stats{}, errors.New("mapjob: a reverse mapping writes FHIR resources: use --format ndjson or json")
	}
	sink, err := newSink(opt)
	if err != nil {
		return Stats{}, err
	}
	var st Stats
	if opt.Mapping.Direction() == mapping.Reverse {
		st, err = runReverse(ctx, opt, sink)
	} else {
		st, err = runForward(ctx, opt, sink)
	}
	if err != nil {
		return st, err
	}
	if err := sink.close(); err != nil {
		return st, fmt.Errorf("writing output: %w", err)
	}
	if st.Failed > 0 {
		return st, fmt.Errorf("%d of %d records: %w", st.Failed, st.Read, ErrRecordsFailed)
	}
	return st, nil
}
