package report

import (
	"bufio"
	"context"
	"io"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Sink receives the resources of an import, one at a time, in report
// order, from one goroutine. Put must not keep r after it returns unless
// it copies it. Close flushes; after an error the caller discards what
// was written (an --out file is not renamed into place).
type Sink interface {
	Put(ctx context.Context, r *fhir.Value) error
	Close() error
}

// NDJSON writes one resource per line.
type NDJSON struct {
	w   *bufio.Writer
	buf []byte
}

var _ Sink = (*NDJSON)(nil)

// NewNDJSON returns a Sink writing NDJSON to w.
func NewNDJSON(w io.Writer) *NDJSON { return &NDJSON{w: bufio.NewWriterSize(w, 1<<20)} }

// Put writes r and a line break.
func (s *NDJSON) Put(_ context.Context, r *fhir.Value) error {
	s.buf = append(r.AppendJSON(s.buf[:0]), '\n')
	_, err := s.w.Write(s.buf)
	return err
}

// Close flushes.
func (s *NDJSON) Close() error { return s.w.Flush() }

// BundleWriter writes one FHIR collection Bundle holding every resource,
// streamed: entries are written as they come. A collection has no
// processing rules, so entries carry only the resource (no fullUrl, no
// request).
type BundleWriter struct {
	w   *bufio.Writer
	buf []byte
	n   int
}

var _ Sink = (*BundleWriter)(nil)

// NewBundle returns a Sink writing a collection Bundle to w.
func NewBundle(w io.Writer) *BundleWriter { return &BundleWriter{w: bufio.NewWriterSize(w, 1<<20)} }

// Put appends r as an entry.
func (s *BundleWriter) Put(_ context.Context, r *fhir.Value) error {
	s.buf = s.buf[:0]
	if s.n == 0 {
		s.buf = append(s.buf, `{"resourceType":"Bundle","type":"collection","entry":[`...)
	} else {
		s.buf = append(s.buf, ',')
	}
	s.buf = append(s.buf, "\n{\"resource\":"...)
	s.buf = r.AppendJSON(s.buf)
	s.buf = append(s.buf, '}')
	s.n++
	_, err := s.w.Write(s.buf)
	return err
}

// Close ends the Bundle (an empty import gives a Bundle without entries)
// and flushes.
func (s *BundleWriter) Close() error {
	if s.n == 0 {
		if _, err := s.w.WriteString(`{"resourceType":"Bundle","type":"collection"}` + "\n"); err != nil {
			return err
		}
	} else if _, err := s.w.WriteString("\n]}\n"); err != nil {
		return err
	}
	return s.w.Flush()
}
