package hl7v2

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Reader streams the messages of a file: a plain sequence of messages,
// or a batch file FHS, BHS, messages, BTS, ..., FTS (FHS/FTS and BHS/BTS
// each optional, but a header needs its trailer). Messages are numbered
// from 1 in the order read, and every error of a message carries its
// number. Each message is bounded by the Limits of the options.
//
// An error inside a message (bad escape, bad charset, ...) is returned
// for that message and Next can go on with the next one; an envelope
// error, a read error or a limit hit while reading is final.
type Reader struct {
	br   *bufio.Reader
	opt  Options
	line []byte // buffer of readLine
	peek []byte // a line read ahead (copy), or nil
	msg  [][]byte
	buf  []byte

	n        int // messages read
	lineNo   int // non-empty lines read
	fhs, bhs *Segment
	fd, bd   Delimiters // delimiters of FHS, BHS
	started  bool       // a line other than FHS has been seen
	inBatch  bool
	batchN   int // messages in the current batch
	batches  int
	ended    bool // FTS read
	err      error
}

// NewReader reads messages from r with the given options.
func NewReader(r io.Reader, o Options) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), opt: o.withDefaults()}
}

// FileHeader returns the FHS segment, or nil.
func (r *Reader) FileHeader() *Segment { return r.fhs }

// BatchHeader returns the BHS segment of the current batch, or nil.
func (r *Reader) BatchHeader() *Segment { return r.bhs }

// MessageNumber returns the number of the last message returned by Next
// (1-based), 0 before the first.
func (r *Reader) MessageNumber() int { return r.n }

// Next returns the next message, or io.EOF after the last one (and a
// well-formed end of the batch envelope).
func (r *Reader) Next() (*Message, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		line, err := r.nextLine()
		if err == io.EOF {
			return nil, r.fail(r.atEOF())
		}
		if err != nil {
			return nil, r.fail(err)
		}
		if r.ended {
			return nil, r.fail(r.envErr(Path{}, "data after FTS"))
		}
		name := ""
		if len(line) >= 3 {
			name = string(line[:3])
		}
		switch name {
		case "FHS":
			if r.started || r.fhs != nil {
				return nil, r.fail(r.envErr(Path{Segment: "FHS"}, "FHS not at the start of the file"))
			}
			s, d, err := r.header(line, "FHS")
			if err != nil {
				return nil, r.fail(err)
			}
			r.fhs, r.fd = s, d
			continue
		case "BHS":
			r.started = true
			if r.inBatch {
				return nil, r.fail(r.envErr(Path{Segment: "BHS"}, "BHS inside a batch (BTS missing)"))
			}
			s, d, err := r.header(line, "BHS")
			if err != nil {
				return nil, r.fail(err)
			}
			r.bhs, r.bd, r.inBatch, r.batchN = s, d, true, 0
			r.batches++
			continue
		case "BTS":
			if !r.inBatch {
				return nil, r.fail(r.envErr(Path{Segment: "BTS"}, "BTS without BHS"))
			}
			if err := r.count(line, "BTS", r.bd, r.batchN); err != nil {
				return nil, r.fail(err)
			}
			r.inBatch = false
			continue
		case "FTS":
			if r.fhs == nil {
				return nil, r.fail(r.envErr(Path{Segment: "FTS"}, "FTS without FHS"))
			}
			if r.inBatch {
				return nil, r.fail(r.envErr(Path{Segment: "FTS"}, "FTS inside a batch (BTS missing)"))
			}
			if err := r.count(line, "FTS", r.fd, r.batches); err != nil {
				return nil, r.fail(err)
			}
			r.ended = true
			continue
		case "MSH":
			r.started = true
			return r.message(line)
		default:
			return nil, r.fail(r.envErr(Path{}, "expected MSH, FHS, BHS, BTS or FTS"))
		}
	}
}

func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

func (r *Reader) envErr(loc Path, reason string) error {
	return &Error{Loc: loc, Reason: "line " + strconv.Itoa(r.lineNo) + ": " + reason, Err: ErrBatch}
}

func (r *Reader) atEOF() error {
	switch {
	case r.inBatch:
		return r.envErr(Path{Segment: "BHS"}, "end of input inside a batch (BTS missing)")
	case r.fhs != nil && !r.ended:
		return r.envErr(Path{Segment: "FHS"}, "end of input before FTS")
	}
	return io.EOF
}

// header parses an FHS or BHS line with its own delimiters.
func (r *Reader) header(line []byte, name string) (*Segment, Delimiters, error) {
	d, err := headerDelimiters(line, name)
	if err != nil {
		return nil, d, r.relocate(err)
	}
	s, err := parseSegment(line, 0, d, r.opt.DefaultCharset, r.opt.MaxFields)
	if err != nil {
		return nil, d, r.relocate(err)
	}
	s.Occurrence = 1
	return s, d, nil
}

// relocate makes an envelope segment's error name its line.
func (r *Reader) relocate(err error) error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Segment = 0
		c.Reason = "line " + strconv.Itoa(r.lineNo) + ": " + c.Reason
		return &c
	}
	return err
}

// count checks field 1 of BTS/FTS (a count), if given, against got.
func (r *Reader) count(line []byte, name string, d Delimiters, got int) error {
	if d.Field == 0 {
		d = DefaultDelimiters
	}
	s, err := parseSegment(line, 0, d, r.opt.DefaultCharset, r.opt.MaxFields)
	if err != nil {
		return r.relocate(err)
	}
	v := s.Raw(1)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return r.envErr(Path{Segment: name, Field: 1}, "count is not a number")
	}
	if n != got {
		what := "messages in the batch"
		if name == "FTS" {
			what = "batches in the file"
		}
		return r.envErr(Path{Segment: name, Field: 1}, "count does not match the "+strconv.Itoa(got)+" "+what)
	}
	return nil
}

// message collects the lines of one message, starting with its MSH.
func (r *Reader) message(mshLine []byte) (*Message, error) {
	r.n++
	r.batchN++
	r.buf = append(r.buf[:0], mshLine...)
	ends := []int{len(r.buf)}
	for {
		line, err := r.nextLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, r.fail(withMessage(err, r.n))
		}
		if len(line) >= 3 {
			switch string(line[:3]) {
			case "MSH", "FHS", "BHS", "BTS", "FTS":
				r.peek = append(r.peek[:0:0], line...)
				goto done
			}
		}
		if len(ends) == r.opt.MaxSegments {
			return nil, r.fail(withMessage(errAt(len(ends)+1, Path{}, ErrLimit, "more segments than the limit"), r.n))
		}
		if len(r.buf)+len(line) > r.opt.MaxMessageBytes {
			return nil, r.fail(withMessage(errAt(len(ends)+1, Path{}, ErrLimit, "message larger than the size limit"), r.n))
		}
		r.buf = append(r.buf, line...)
		ends = append(ends, len(r.buf))
	}
done:
	r.msg = r.msg[:0]
	start := 0
	for _, e := range ends {
		r.msg = append(r.msg, r.buf[start:e])
		start = e
	}
	m, err := parseLines(r.msg, r.opt)
	if err != nil {
		return nil, withMessage(err, r.n)
	}
	return m, nil
}

// nextLine returns the look-ahead line or reads one.
func (r *Reader) nextLine() ([]byte, error) {
	if r.peek != nil {
		l := r.peek
		r.peek = nil
		return l, nil
	}
	return r.readLine()
}

// readLine reads the next non-empty line ended by CR, LF, CRLF or EOF.
// The result is valid until the next call.
func (r *Reader) readLine() ([]byte, error) {
	r.line = r.line[:0]
	for {
		if _, err := r.br.Peek(1); err != nil {
			if err == io.EOF && len(r.line) > 0 {
				r.lineNo++
				return r.line, nil
			}
			return nil, err
		}
		b, _ := r.br.Peek(r.br.Buffered())
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			i = len(b)
		}
		if len(r.line)+i > r.opt.MaxMessageBytes {
			r.lineNo++
			return nil, errAt(0, Path{}, ErrLimit, "line "+strconv.Itoa(r.lineNo)+": line longer than the message size limit")
		}
		r.line = append(r.line, b[:i]...)
		if i == len(b) {
			r.br.Discard(i)
			continue
		}
		cr := b[i] == '\r'
		r.br.Discard(i + 1)
		if cr {
			if nb, err := r.br.Peek(1); err == nil && nb[0] == '\n' {
				r.br.Discard(1)
			}
		}
		if len(r.line) > 0 {
			r.lineNo++
			return r.line, nil
		}
	}
}
