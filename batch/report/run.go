package report

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
	"github.com/fhirbridge/fhirbridge/batch/mapjob"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// DefaultMaxListed is how many refused rows a Summary lists by default.
const DefaultMaxListed = 20

// maxHeader bounds the header row read before the rows.
const maxHeader = 64 << 10

// Options configures one import.
type Options struct {
	// Mapping is a reverse CSV mapping that declares its columns. Each
	// row's result is a resource, or a Bundle whose entries are unpacked.
	Mapping *mapping.Mapping
	// In is the report's CSV text (header row first).
	In io.Reader
	// Sink receives every resource, in report order.
	Sink Sink
	// Workers mapping rows in parallel; 0 means GOMAXPROCS.
	Workers int
	// MaxListed caps Summary.Refused; 0 means DefaultMaxListed.
	MaxListed int
	// PatientWindow is how many recent Patient ids are remembered so a
	// Patient repeated on later rows is written once (0: 65536, < 0: off).
	// Memory stays bounded: an id seen again after the window is written again.
	PatientWindow int
	// OnProgress, when set, is called from one goroutine with the bytes
	// of In consumed and the rows read so far.
	OnProgress func(bytes int64, rows int)
	// Limits caps the report's bytes and rows (zero fields: the
	// defaults). Run stops with ErrTooLarge (wrapped) when a cap is
	// passed, after what it already handed the Sink: call Measure first
	// when the Sink cannot be rolled back.
	Limits Limits
}

// Refusal is one refused row: its line (the header is line 1) and why,
// never a value from the row.
type Refusal struct {
	Line   int
	Reason string
}

// Summary is what an import did.
type Summary struct {
	Read, Mapped, Refused int
	// Skipped rows were excluded by the mapping's `when`.
	Skipped int
	// Listed are the first refusals, in line order.
	Listed []Refusal
	// Resources written, by type; PatientsRepeated were left out as
	// repeats of a Patient written earlier.
	Resources        map[string]int
	PatientsRepeated int
	// ByStatus counts Encounters by status; ByDay by the UTC day of
	// period.start (YYYY-MM-DD; "" when absent).
	ByStatus map[string]int
	ByDay    map[string]int
}

// ErrRowsRefused is returned (wrapped) by Run when some rows were refused
// and the others imported.
var ErrRowsRefused = errors.New("some rows were refused")

// Run checks the header against the mapping's columns, then maps and
// writes every row. A column mismatch returns a *ColumnError before any
// row is read. Refused rows make it return ErrRowsRefused (wrapped) after
// the whole report; a read or Sink error stops it. It does not Close the
// Sink.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	if opt.Mapping == nil || opt.Mapping.Direction() != mapping.Reverse || opt.Mapping.Input() != "csv" {
		return nil, errors.New("report: the mapping must be a reverse CSV mapping")
	}
	if opt.MaxListed <= 0 {
		opt.MaxListed = DefaultMaxListed
	}
	lim := opt.Limits.withDefaults()
	br := bufio.NewReaderSize(&capReader{r: opt.In, max: lim.MaxBytes}, maxHeader)
	header, err := peekHeader(br)
	if err != nil {
		return nil, err
	}
	if err := CheckColumns(header, opt.Mapping.InputColumns()); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", opt.Mapping.Name(), err)
	}
	sum := &Summary{Resources: map[string]int{}, ByStatus: map[string]int{}, ByDay: map[string]int{}}
	u := &unpacker{ctx: ctx, sink: opt.Sink, sum: sum, patients: newRecent(opt.PatientWindow), maxRows: lim.MaxRows}
	var rows atomic.Int64
	jo := mapjob.Options{
		Mapping: opt.Mapping, In: br, Out: u, Format: mapjob.NDJSON, Workers: opt.Workers,
		OnError: func(e *mapjob.RecordError) {
			if len(sum.Listed) < opt.MaxListed {
				sum.Listed = append(sum.Listed, Refusal{Line: lineOf(e), Reason: reasonOf(e)})
			}
		},
	}
	if opt.OnProgress != nil {
		jo.OnProgress = func(n int64) { opt.OnProgress(n, int(rows.Load())) }
	}
	u.rows = &rows
	st, err := mapjob.Run(ctx, jo)
	sum.Read, sum.Mapped, sum.Refused, sum.Skipped = st.Read, st.Written, st.Failed, st.Skipped
	if err == nil && st.Read > lim.MaxRows {
		err = rowsError(lim.MaxRows)
	}
	if errors.Is(err, ErrTooLarge) {
		return sum, fmt.Errorf("importing the report: %w", err)
	}
	if errors.Is(err, mapjob.ErrRecordsFailed) {
		return sum, fmt.Errorf("%d of %d rows: %w", st.Failed, st.Read, ErrRowsRefused)
	}
	if err != nil {
		return sum, fmt.Errorf("importing the report: %w", err)
	}
	if u.partial.Len() > 0 {
		return sum, errors.New("importing the report: the mapper's output ended mid-line")
	}
	return sum, nil
}

// peekHeader reads the header row without consuming it.
func peekHeader(br *bufio.Reader) ([]string, error) {
	b, err := br.Peek(maxHeader)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("reading the report header: %w", err)
	}
	if len(bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))) == 0 {
		return nil, fmt.Errorf("reading the report header: %w: the report is empty", flatfile.ErrHeader)
	}
	fr, err := flatfile.NewReader(bytes.NewReader(b), flatfile.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the report header: %w", err)
	}
	return fr.Header(), nil
}

// lineOf and reasonOf split a mapjob error into its line and the rest.
func lineOf(e *mapjob.RecordError) int {
	var re *flatfile.RecordError
	if errors.As(e.Err, &re) {
		return re.Line
	}
	var n int
	fmt.Sscanf(e.Where, "line %d", &n)
	return n
}

func reasonOf(e *mapjob.RecordError) string {
	var re *flatfile.RecordError
	if errors.As(e.Err, &re) {
		return re.Msg
	}
	return e.Err.Error()
}

// unpacker receives mapjob's NDJSON output (one result per mapped row, in
// row order), unpacks Bundles, counts and hands each resource to the Sink.
type unpacker struct {
	ctx      context.Context
	sink     Sink
	sum      *Summary
	patients *recent
	partial  bytes.Buffer
	rows     *atomic.Int64
	maxRows  int
}

func (u *unpacker) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			u.partial.Write(p)
			break
		}
		line := p[:i]
		if u.partial.Len() > 0 {
			u.partial.Write(line)
			line = u.partial.Bytes()
		}
		if err := u.line(line); err != nil {
			return 0, err
		}
		u.partial.Reset()
		p = p[i+1:]
	}
	return n, nil
}

func (u *unpacker) line(b []byte) error {
	if u.rows.Add(1) > int64(u.maxRows) {
		return rowsError(u.maxRows)
	}
	v, err := fhir.Decode(b, fhir.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("reading the mapper's output: %w", err)
	}
	if v.ResourceType() != "Bundle" {
		return u.put(v)
	}
	if es := v.Get("entry"); es != nil && es.Kind == fhir.Array {
		for _, e := range es.Items {
			if r := e.Get("resource"); r != nil && r.Kind == fhir.Object {
				if err := u.put(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (u *unpacker) put(r *fhir.Value) error {
	typ := r.ResourceType()
	switch typ {
	case "Patient":
		if u.patients.seen(r) {
			u.sum.PatientsRepeated++
			return nil
		}
	case "Encounter":
		u.sum.ByStatus[r.GetString("status")]++
		day := ""
		if p := r.Get("period"); p != nil {
			day, _, _ = strings.Cut(p.GetString("start"), "T")
		}
		u.sum.ByDay[day]++
	}
	if err := u.sink.Put(u.ctx, r); err != nil {
		return fmt.Errorf("writing %s: %w", typ, err)
	}
	u.sum.Resources[typ]++
	return nil
}
