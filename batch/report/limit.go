package report

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
)

// Default caps of one report. A month of visits of a large site is a few
// hundred thousand rows and some tens of MB, so the defaults sit far above
// any real report while still stopping a runaway or hostile file (a zip
// bomb, an endless stream) before it fills the disk or the store.
const (
	// DefaultMaxBytes caps the report's CSV text (unzipped): 4 GiB.
	DefaultMaxBytes int64 = 4 << 30
	// DefaultMaxRows caps the report's data rows: 10 million.
	DefaultMaxRows = 10_000_000
)

// ErrTooLarge reports a report over its byte or row cap. The import
// applies nothing when the cap is found by Measure (or by the archive's
// declared size) before any row is applied.
var ErrTooLarge = errors.New("the report is over its size cap")

// Limits caps one report. Zero fields take the defaults.
type Limits struct {
	// MaxBytes caps the CSV text in bytes, as read (after unzipping).
	MaxBytes int64
	// MaxRows caps the data rows (the header is not a row; a malformed
	// row counts).
	MaxRows int
}

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	return l
}

// bytesError and rowsError say which cap and how to raise it.
func bytesError(max int64) error {
	return fmt.Errorf("%w: more than %d bytes of CSV text (raise it with --max-bytes or connectors.solo.reports.max_bytes)", ErrTooLarge, max)
}

func rowsError(max int) error {
	return fmt.Errorf("%w: more than %d rows (raise it with --max-rows or connectors.solo.reports.max_rows)", ErrTooLarge, max)
}

// CheckDeclared refuses an archive whose declared unzipped size is over
// the byte cap, before a byte is inflated. The inflater itself stops at
// the declared size (a larger output is ErrCorrupt), so a lying header
// cannot slip past the cap either.
func (l Limits) CheckDeclared(size int64) error {
	l = l.withDefaults()
	if size > l.MaxBytes {
		return bytesError(l.MaxBytes)
	}
	return nil
}

// Measured is what Measure counted.
type Measured struct {
	Bytes int64
	Rows  int
}

// Measure reads the whole CSV text in r — counting its bytes and rows,
// and failing with ErrTooLarge (wrapped) as soon as a cap is passed — and
// discards it. Run before an import that cannot be rolled back (the
// store commits in batches), it makes a capped report apply nothing. Read
// errors of r (an archive's ErrPassword, ErrCorrupt) are returned wrapped.
// progress, when set, gets the bytes read so far.
func Measure(ctx context.Context, r io.Reader, lim Limits, progress func(n int64)) (Measured, error) {
	lim = lim.withDefaults()
	cr := &capReader{r: r, max: lim.MaxBytes, ctx: ctx, progress: progress}
	fr, err := flatfile.NewReader(cr, flatfile.ReadOptions{})
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return Measured{Bytes: cr.n}, err
		}
		return Measured{Bytes: cr.n}, fmt.Errorf("reading the report header: %w", err)
	}
	m := Measured{}
	for {
		_, err := fr.Next()
		var re *flatfile.RecordError
		switch {
		case errors.Is(err, io.EOF):
			m.Bytes = cr.n
			return m, nil
		case errors.As(err, &re), err == nil:
			m.Rows++
			if m.Rows > lim.MaxRows {
				m.Bytes = cr.n
				return m, rowsError(lim.MaxRows)
			}
		case errors.Is(err, ErrTooLarge):
			m.Bytes = cr.n
			return m, err
		default:
			m.Bytes = cr.n
			return m, fmt.Errorf("reading the report: %w", err)
		}
	}
}

// capReader counts the bytes read and fails with ErrTooLarge past max; it
// also checks ctx and reports progress.
type capReader struct {
	r        io.Reader
	n, max   int64
	ctx      context.Context
	progress func(int64)
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	if c.n > c.max {
		return 0, bytesError(c.max)
	}
	// read at most one byte past the cap, enough to know it is passed
	if rest := c.max - c.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	if c.progress != nil && k > 0 {
		c.progress(c.n)
	}
	if c.n > c.max {
		return k, bytesError(c.max)
	}
	return k, err
}
