package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// MaxReportedRefusals bounds Result.Refused; Result.RefusedCount counts all.
const MaxReportedRefusals = 1000

// Refusal is one resource the export could not turn into a row.
type Refusal struct {
	// ID is the resource's id ("appt-17"), of the mapping's source type.
	ID string
	// Reason names the field and what went wrong, never a value
	// ("mapping tuotempo/export: field RESOURCE_LID ...: required").
	Reason string
}

// content is the CSV file of one export, on local disk.
type content struct {
	file    *os.File // temporary; removed by close
	size    int64
	sha256  string
	rows    int
	skipped int // outside the window, or the mapping's when was false
	refused []Refusal
	nRefuse int
}

// close removes the temporary file.
func (c *content) close() {
	if c.file != nil {
		name := c.file.Name()
		c.file.Close()
		os.Remove(name)
	}
}

// reader returns the file's content from the start.
func (c *content) reader() (io.Reader, error) {
	if _, err := c.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewinding export file: %w", err)
	}
	return io.LimitReader(c.file, c.size), nil
}

// countWriter counts bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// build maps the selected resources and writes the CSV to a temporary file
// in dir, hashing it on the way; copyTo (may be nil) gets the same bytes.
func (j *job) build(ctx context.Context, st *store.Store, w span, dir string, copyTo io.Writer) (*content, error) {
	f, err := os.CreateTemp(dir, "fhirbridge-export-*.csv")
	if err != nil {
		return nil, fmt.Errorf("creating temporary export file: %w", err)
	}
	c := &content{file: f}
	hash := sha256.New()
	sinks := []io.Writer{f, hash}
	if copyTo != nil {
		sinks = append(sinks, copyTo)
	}
	cw := &countWriter{w: io.MultiWriter(sinks...)}
	wr := flatfile.NewWriter(cw, j.Mapping.Columns(), j.write)
	res := NewStoreResolver(ctx, st)
	err = j.each(ctx, st, w, &c.skipped, func(s selected) error {
		if s.bad != nil {
			c.refuse(s.id, s.bad)
			return nil
		}
		rows, err := j.Mapping.ApplyAll(s.res, res, s.bundle)
		if rerr := res.Err(); rerr != nil {
			return fmt.Errorf("resolving references of %s/%s: %w", j.Mapping.SourceType(), s.id, rerr)
		}
		if err == nil && len(rows) == 0 {
			c.skipped++
			return nil
		}
		// a resource's rows are all written or all refused: a relation
		// view must not get half of a resource's pairs
		if err == nil {
			err = wr.WriteAll(rows)
			if err != nil && !rowError(err) {
				return fmt.Errorf("writing export file: %w", err)
			}
		}
		if err != nil {
			c.refuse(s.id, err)
			return nil
		}
		c.rows += len(rows)
		return nil
	})
	if err == nil {
		err = wr.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("building export %s: %w", j.Name, err)
	}
	c.size = cw.n
	c.sha256 = hex.EncodeToString(hash.Sum(nil))
	return c, nil
}

// rowError reports a writer error that concerns one row only (the row is
// not written and later rows can be).
func rowError(err error) bool {
	return errors.Is(err, flatfile.ErrNotObject) || errors.Is(err, flatfile.ErrUnsupportedValue) ||
		errors.Is(err, flatfile.ErrUnrepresentable) || errors.Is(err, flatfile.ErrInvalidUTF8)
}

func (c *content) refuse(id string, err error) {
	c.nRefuse++
	if len(c.refused) < MaxReportedRefusals {
		c.refused = append(c.refused, Refusal{ID: id, Reason: err.Error()})
	}
}
