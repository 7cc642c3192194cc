package mapjob

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// MaxLine caps one NDJSON line (one resource or Bundle).
const MaxLine = 64 << 20

// MaxDocument caps a single (not NDJSON) input document.
const MaxDocument = 1 << 30

// runForward reads FHIR input: NDJSON (one resource or Bundle per line,
// streamed), or one JSON document (a resource or a Bundle) that may span
// lines. Every resource of the mapping's source type is mapped; Bundle
// entries resolve references within their Bundle.
func runForward(ctx context.Context, opt Options, s *sink) (Stats, error) {
	br := bufio.NewReaderSize(opt.In, 1<<20)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		br.Discard(3) // a UTF-8 byte order mark, as Windows tools write
	}
	first, err := peekLine(br)
	if err != nil {
		return Stats{}, err
	}
	if len(bytes.TrimSpace(first)) == 0 {
		return Stats{}, nil // empty input: nothing to map
	}
	work := func(c *chunk) { forwardChunk(opt, s, c) }
	if looksLikeNDJSON(first) {
		return pipeline(ctx, opt, s, func(emit func(*chunk) bool) error {
			return readLines(br, opt.OnProgress, emit)
		}, work)
	}
	return pipeline(ctx, opt, s, func(emit func(*chunk) bool) error {
		data, err := io.ReadAll(io.LimitReader(br, MaxDocument+1))
		if err != nil {
			return fmt.Errorf("reading input: %w", err)
		}
		if len(data) > MaxDocument {
			return fmt.Errorf("reading input: a single JSON document over %d bytes; use NDJSON for large inputs", MaxDocument)
		}
		if opt.OnProgress != nil {
			opt.OnProgress(int64(len(data)))
		}
		emit(&chunk{units: []unit{{line: 1, text: string(data), where: "input"}}})
		return nil
	}, work)
}

// peekLine returns the first line that is not blank without consuming
// anything (up to the buffer's size): leading blank lines are left for
// the readers, which count them as lines.
func peekLine(br *bufio.Reader) ([]byte, error) {
	for n := 4096; ; n *= 2 {
		if n > br.Size() {
			n = br.Size()
		}
		b, err := br.Peek(n)
		for {
			i := bytes.IndexByte(b, '\n')
			if i < 0 || len(bytes.TrimSpace(b[:i])) > 0 {
				break
			}
			b = b[i+1:]
		}
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			return b[:i], nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
				return b, nil
			}
			return nil, fmt.Errorf("reading input: %w", err)
		}
		if n == br.Size() {
			return b, nil
		}
	}
}

// looksLikeNDJSON: the first line holds a whole JSON object on its own.
func looksLikeNDJSON(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}'
}

// readLines splits NDJSON into chunks of lines, copying each chunk's
// bytes once into a string the decoder can slice without copying.
func readLines(br *bufio.Reader, progress func(int64), emit func(*chunk) bool) error {
	lineNo := 0
	var consumed int64
	var buf []byte
	type span struct{ start, end, line int }
	spans := make([]span, 0, chunkSize)
	flush := func() bool {
		if len(spans) == 0 {
			return true
		}
		text := string(buf)
		c := &chunk{units: make([]unit, len(spans))}
		for i, sp := range spans {
			c.units[i] = unit{line: sp.line, text: text[sp.start:sp.end]}
		}
		buf = buf[:0]
		spans = spans[:0]
		if progress != nil {
			progress(consumed)
		}
		return emit(c)
	}
	for {
		line, err := br.ReadSlice('\n')
		long := false
		for errors.Is(err, bufio.ErrBufferFull) {
			// a line longer than the buffer: gather it, up to MaxLine
			acc := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(acc) <= MaxLine {
				line, err = br.ReadSlice('\n')
				acc = append(acc, line...)
			}
			line = acc
			long = len(acc) > MaxLine
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of an oversized line
				_, err = br.ReadSlice('\n')
			}
		}
		if len(line) > 0 {
			lineNo++
			consumed += int64(len(line))
			if long {
				if !flush() {
					return nil
				}
				if !emit(&chunk{units: []unit{{line: lineNo, err: fmt.Errorf("line longer than %d bytes", MaxLine)}}}) {
					return nil
				}
			} else if t := bytes.TrimSpace(line); len(t) > 0 {
				start := len(buf)
				buf = append(buf, t...)
				spans = append(spans, span{start, len(buf), lineNo})
				if len(spans) == chunkSize && !flush() {
					return nil
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				flush()
				return nil
			}
			return fmt.Errorf("reading input after line %d: %w", lineNo, err)
		}
	}
}

// arenas recycle the decoded trees: once a line's records are encoded
// into the chunk's output nothing refers to its tree any more.
var arenas = sync.Pool{New: func() any { return new(fhir.Arena) }}

// forwardChunk decodes and maps every unit of c.
func forwardChunk(opt Options, s *sink, c *chunk) {
	m := opt.Mapping
	arena := arenas.Get().(*fhir.Arena)
	defer arenas.Put(arena)
	if n := len(c.units); n > 0 && c.out == nil {
		// output records are about the size of their input: grow once
		last := c.units[n-1].text
		c.out = make([]byte, 0, min(len(last)*n, 4<<20))
	}
	for _, u := range c.units {
		arena.Reset()
		where := u.where
		if where == "" {
			where = "line " + strconv.Itoa(u.line)
		}
		if u.err != nil {
			c.st.Read++
			c.errs = append(c.errs, &RecordError{Where: where, Err: u.err})
			continue
		}
		doc, err := fhir.DecodeString(u.text, fhir.DecodeOptions{Arena: arena})
		if err != nil {
			c.st.Read++
			c.errs = append(c.errs, &RecordError{Where: where, Err: fmt.Errorf("reading JSON: %w", err)})
			continue
		}
		for _, r := range resources(doc, opt.Strict) {
			if r.err != nil {
				c.st.Read++
				c.errs = append(c.errs, &RecordError{Where: where + r.where, Err: r.err})
				continue
			}
			if r.res.ResourceType() != m.SourceType() {
				c.st.Read++ // considered, like a record skipped by `when`
				c.st.Skipped++
				continue
			}
			c.st.Read++
			rec, err := m.ApplyIn(r.res, r.env, r.bdl)
			if err != nil {
				c.errs = append(c.errs, &RecordError{Where: where + r.where, Err: err})
				continue
			}
			if rec == nil {
				c.st.Skipped++
				continue
			}
			if err := s.encode(c, rec); err != nil {
				c.errs = append(c.errs, &RecordError{Where: where + r.where, Err: err})
				continue
			}
			c.st.Written++
		}
	}
}
