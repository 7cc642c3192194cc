package mapjob

import (
	"bufio"
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// sink encodes records in the output format (in the workers) and writes
// encoded chunks in order (in the pipeline's collector).
type sink struct {
	opt     Options
	w       *bufio.Writer
	columns []string
	header  []byte // the CSV header as the flatfile writer writes it
	records int
}

func newSink(opt Options) (*sink, error) {
	s := &sink{opt: opt, w: bufio.NewWriterSize(opt.Out, 1<<20)}
	switch opt.Format {
	case NDJSON, JSON:
	case CSV:
		s.columns = opt.Mapping.Columns()
		var hb bytes.Buffer
		fw := flatfile.NewWriter(&hb, s.columns, s.csvOptions())
		if err := fw.Flush(); err != nil {
			return nil, fmt.Errorf("writing the CSV header: %w", err)
		}
		s.header = hb.Bytes()
	default:
		return nil, fmt.Errorf("unknown output format %q (want ndjson, csv or json)", opt.Format)
	}
	return s, nil
}

func (s *sink) csvOptions() flatfile.WriteOptions {
	d := s.opt.Delimiter
	if d == 0 || !utf8.ValidRune(d) {
		d = ','
	}
	return flatfile.WriteOptions{Delimiter: d, CRLF: s.opt.CRLF}
}

// encode appends one record to c.out. Called from workers.
func (s *sink) encode(c *chunk, rec *fhir.Value) error {
	switch s.opt.Format {
	case CSV:
		var b bytes.Buffer
		fw := flatfile.NewWriter(&b, s.columns, s.csvOptions())
		if err := fw.Write(rec); err != nil {
			return err
		}
		if err := fw.Flush(); err != nil {
			return err
		}
		c.out = append(c.out, bytes.TrimPrefix(b.Bytes(), s.header)...)
	case JSON:
		if len(c.out) > 0 {
			c.out = append(c.out, ",\n"...)
		}
		c.out = rec.AppendJSON(c.out)
	default:
		c.out = rec.AppendJSON(c.out)
		c.out = append(c.out, '\n')
	}
	return nil
}

// write emits one chunk's encoded records, in order.
func (s *sink) write(out []byte) error {
	if s.records == 0 {
		if err := s.start(); err != nil {
			return err
		}
	}
	if len(out) == 0 {
		return nil
	}
	if s.opt.Format == JSON && s.records > 1 {
		if _, err := s.w.WriteString(",\n"); err != nil {
			return err
		}
	}
	s.records++
	_, err := s.w.Write(out)
	return err
}

// start writes what precedes the first record; records counts chunks
// written plus one once started.
func (s *sink) start() error {
	s.records = 1
	switch s.opt.Format {
	case CSV:
		_, err := s.w.Write(s.header)
		return err
	case JSON:
		_, err := s.w.WriteString("[\n")
		return err
	}
	return nil
}

// close finishes the output: an empty run still writes the CSV header or
// an empty JSON array, so "nothing" is told apart from "missing".
func (s *sink) close() error {
	if s.records == 0 {
		if err := s.start(); err != nil {
			return err
		}
	}
	if s.opt.Format == JSON {
		if _, err := s.w.WriteString("\n]\n"); err != nil {
			return err
		}
	}
	return s.w.Flush()
}
