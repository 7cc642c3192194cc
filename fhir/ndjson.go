package fhir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineReader reads lines of at most max bytes, reusing one buffer, so
// memory stays flat however long the input is. While record is set it also
// keeps every byte read, for the document fallback of Read.
type lineReader struct {
	br     *bufio.Reader
	max    int
	buf    []byte
	line   int // number of the last line returned (1-based)
	record bool
	raw    []byte
}

// lineData is one line without its terminator; data is valid until the
// next call. tooLong lines have no data.
type lineData struct {
	data    []byte
	tooLong bool
}

// next returns the next line, or io.EOF when the input is exhausted.
func (lr *lineReader) next() (lineData, error) {
	lr.buf = lr.buf[:0]
	tooLong, n := false, 0
	for {
		chunk, err := lr.br.ReadSlice('\n')
		n += len(chunk)
		if !tooLong {
			if len(lr.buf)+len(chunk) > lr.max+2 { // +2 for "\r\n"
				tooLong = true
				lr.buf = lr.buf[:0]
				lr.record = false
			} else {
				lr.buf = append(lr.buf, chunk...)
				if lr.record {
					lr.raw = append(lr.raw, chunk...)
				}
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return lineData{}, io.EOF
			}
			break
		}
		if err != nil {
			return lineData{}, err
		}
		break
	}
	lr.line++
	if tooLong {
		return lineData{tooLong: true}, nil
	}
	d := bytes.TrimSuffix(lr.buf, []byte{'\n'})
	d = bytes.TrimSuffix(d, []byte{'\r'})
	if len(d) > lr.max {
		return lineData{tooLong: true}, nil
	}
	return lineData{data: d}, nil
}

// nextNonBlank returns the next line holding more than white space.
func (lr *lineReader) nextNonBlank() (lineData, error) {
	for {
		d, err := lr.next()
		if err != nil || d.tooLong || len(bytes.TrimSpace(d.data)) > 0 {
			return d, err
		}
	}
}

// ndjson streams NDJSON lines to fn.
type ndjson struct {
	lr  *lineReader
	opt ReadOptions
	fn  func(Entry) error
}

// run handles the line cur (number n) and every line after it.
func (s *ndjson) run(cur lineData, n int) error {
	if err := s.line(cur.data, n, cur.tooLong); err != nil {
		return err
	}
	for {
		d, err := s.lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading line %d: %w", s.lr.line+1, err)
		}
		if err := s.line(d.data, s.lr.line, d.tooLong); err != nil {
			return err
		}
	}
}

// line decodes one NDJSON line and yields it or reports its problem.
func (s *ndjson) line(data []byte, n int, tooLong bool) error {
	name := lineName(n)
	if tooLong {
		return report(s.opt, n, name, &LineTooLongError{Line: n, Max: s.lr.max})
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	v, err := DecodeString(string(data), DecodeOptions{MaxDepth: s.opt.MaxDepth})
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Line = n // the line of the input, not of the one-line document
		}
		return report(s.opt, n, name, err)
	}
	if err := checkResource(v, s.opt.Strict, ""); err != nil {
		return report(s.opt, n, name, err)
	}
	e := entryFor(v)
	e.Index, e.Path = n, name
	return s.fn(e)
}
