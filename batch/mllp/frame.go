package mllp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// The MLLP block characters.
const (
	StartBlock = 0x0B // VT, before each message
	EndBlock   = 0x1C // FS, after each message, followed by CR
	CR         = 0x0D
)

// DefaultMaxMessageBytes bounds one framed message when no bound is given.
const DefaultMaxMessageBytes = 4 << 20

// Sentinel errors; every *FrameError wraps one of them.
var (
	// ErrOutsideFrame is a byte other than the start block where a frame
	// must begin.
	ErrOutsideFrame = errors.New("byte outside a frame")
	// ErrBadEnd is an end block not followed by CR, or a start block
	// inside a frame.
	ErrBadEnd = errors.New("malformed frame")
	// ErrTooLarge is a message over the size bound.
	ErrTooLarge = errors.New("message too large")
	// ErrTruncated is a stream that ends inside a frame.
	ErrTruncated = errors.New("stream ended inside a frame")
)

// FrameError is a framing failure at a byte offset of the stream (0 is
// the first byte read). It never holds message content.
type FrameError struct {
	Offset int64
	Err    error
}

// Error formats as "mllp: byte 12: byte outside a frame".
func (e *FrameError) Error() string {
	return fmt.Sprintf("mllp: byte %d: %v", e.Offset, e.Err)
}

// Unwrap returns the sentinel error.
func (e *FrameError) Unwrap() error { return e.Err }

// Reader reads MLLP frames: StartBlock, the message, EndBlock, CR.
// Nothing may come between frames.
type Reader struct {
	br  *bufio.Reader
	max int
	off int64 // bytes consumed so far
}

// NewReader reads frames from r, each message at most max bytes
// (DefaultMaxMessageBytes when max <= 0). A *bufio.Reader is used as is.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageBytes
	}
	return &Reader{br: bufio.NewReader(r), max: max}
}

// Offset returns the number of bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

// ReadFrame returns the next message without its block characters,
// io.EOF at a clean end of stream (between frames), or a *FrameError
// (or a read error wrapped with the offset). After an error the stream
// is out of step and should be closed.
func (r *Reader) ReadFrame() ([]byte, error) {
	c, err := r.br.ReadByte()
	if err != nil {
		if err == io.EOF {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("mllp: byte %d: %w", r.off, err)
	}
	if c != StartBlock {
		return nil, &FrameError{Offset: r.off, Err: ErrOutsideFrame}
	}
	r.off++
	var msg []byte
	for {
		chunk, err := r.br.ReadSlice(EndBlock)
		body := chunk
		if err == nil {
			body = chunk[:len(chunk)-1]
		}
		if i := bytes.IndexByte(body, StartBlock); i >= 0 {
			return nil, &FrameError{Offset: r.off + int64(i), Err: ErrBadEnd}
		}
		if len(msg)+len(body) > r.max {
			return nil, &FrameError{Offset: r.off + int64(r.max-len(msg)), Err: ErrTooLarge}
		}
		msg = append(msg, body...)
		r.off += int64(len(chunk))
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			return nil, &FrameError{Offset: r.off, Err: ErrTruncated}
		default:
			return nil, fmt.Errorf("mllp: byte %d: %w", r.off, err)
		}
		// End block read; a CR must follow.
		c, err := r.br.ReadByte()
		switch {
		case err == io.EOF:
			return nil, &FrameError{Offset: r.off, Err: ErrTruncated}
		case err != nil:
			return nil, fmt.Errorf("mllp: byte %d: %w", r.off, err)
		case c != CR:
			return nil, &FrameError{Offset: r.off, Err: ErrBadEnd}
		}
		r.off++
		return msg, nil
	}
}

// WriteFrame writes msg framed; msg must not hold a block character.
func WriteFrame(w io.Writer, msg []byte) error {
	if i := bytes.IndexAny(msg, "\x0b\x1c"); i >= 0 {
		return fmt.Errorf("mllp: message byte %d: %w: block character in message", i, ErrBadEnd)
	}
	buf := make([]byte, 0, len(msg)+3)
	buf = append(buf, StartBlock)
	buf = append(buf, msg...)
	buf = append(buf, EndBlock, CR)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("mllp: write: %w", err)
	}
	return nil
}
