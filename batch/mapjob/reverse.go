package mapjob

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// runReverse reads the vendor's file — CSV with a header row of the
// vendor's column names (delimiter detected), or NDJSON records — and maps
// every record to a FHIR resource.
func runReverse(ctx context.Context, opt Options, s *sink) (Stats, error) {
	if opt.Mapping.Input() == "hl7v2" {
		return runReverseV2(ctx, opt, s)
	}
	br := bufio.NewReaderSize(opt.In, 1<<20)
	first, err := peekLine(br)
	if err != nil {
		return Stats{}, err
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(first, []byte("\xef\xbb\xbf")))
	if len(t) == 0 {
		return Stats{}, nil
	}
	work := func(c *chunk) { reverseChunk(opt, s, c) }
	if t[0] == '{' {
		return pipeline(ctx, opt, s, func(emit func(*chunk) bool) error {
			return readLines(br, opt.OnProgress, emit)
		}, work)
	}
	cr := &countingReader{r: br}
	fr, err := flatfile.NewReader(cr, flatfile.ReadOptions{})
	if err != nil {
		return Stats{}, fmt.Errorf("reading the CSV header: %w", err)
	}
	if err := opt.Mapping.CheckHeader(fr.Header()); err != nil {
		return Stats{}, fmt.Errorf("the CSV header does not fit mapping %s: %w", opt.Mapping.Name(), err)
	}
	return pipeline(ctx, opt, s, func(emit func(*chunk) bool) error {
		c := &chunk{}
		for {
			rec, err := fr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			var re *flatfile.RecordError
			switch {
			case errors.As(err, &re):
				c.units = append(c.units, unit{line: re.Line, err: err})
			case err != nil:
				return fmt.Errorf("reading CSV: %w", err)
			default:
				c.units = append(c.units, unit{line: rec.Line, rec: rec.Value})
			}
			if len(c.units) == chunkSize {
				if opt.OnProgress != nil {
					opt.OnProgress(cr.n)
				}
				if !emit(c) {
					return nil
				}
				c = &chunk{}
			}
		}
		if opt.OnProgress != nil {
			opt.OnProgress(cr.n)
		}
		if len(c.units) > 0 {
			emit(c)
		}
		return nil
	}, work)
}

func reverseChunk(opt Options, s *sink, c *chunk) {
	m := opt.Mapping
	for _, u := range c.units {
		where := "line " + strconv.Itoa(u.line)
		c.st.Read++
		if u.err != nil {
			var re *flatfile.RecordError
			if errors.As(u.err, &re) {
				where = "" // the flatfile error already names its line
			}
			c.errs = append(c.errs, &RecordError{Where: where, Err: u.err})
			continue
		}
		rec, _ := u.rec.(*fhir.Value)
		if rec == nil {
			v, err := fhir.DecodeString(u.text, fhir.DecodeOptions{})
			if err != nil {
				c.errs = append(c.errs, &RecordError{Where: where, Err: fmt.Errorf("reading JSON: %w", err)})
				continue
			}
			rec = v
		}
		res, err := m.Reverse(rec)
		if err != nil {
			c.errs = append(c.errs, &RecordError{Where: where, Err: err})
			continue
		}
		if res == nil {
			c.st.Skipped++
			continue
		}
		if err := s.encode(c, res); err != nil {
			c.errs = append(c.errs, &RecordError{Where: where, Err: err})
			continue
		}
		c.st.Written++
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
