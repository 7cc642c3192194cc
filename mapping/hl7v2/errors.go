package hl7v2

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors; every *Error wraps one of them, so callers can test
// the kind of a failure with errors.Is.
var (
	// ErrSyntax is a structural problem: a missing MSH, a bad segment
	// name, a segment out of place.
	ErrSyntax = errors.New("syntax error")
	// ErrDelimiters is a bad MSH-1/MSH-2 (or FHS/BHS) delimiter set.
	ErrDelimiters = errors.New("bad delimiters")
	// ErrEscape is a malformed or unsupported escape sequence.
	ErrEscape = errors.New("bad escape sequence")
	// ErrCharset is an unsupported MSH-18 or bytes not valid in it.
	ErrCharset = errors.New("character set error")
	// ErrLimit is a message, segment or line over a configured bound.
	ErrLimit = errors.New("limit exceeded")
	// ErrBatch is a batch envelope problem (FHS/BHS/BTS/FTS).
	ErrBatch = errors.New("batch error")
	// ErrPath is a malformed path expression.
	ErrPath = errors.New("bad path")
	// ErrNoSegment is a write to a segment that is not in the message.
	ErrNoSegment = errors.New("no such segment")
)

// Error is a failure located in a message. It names where (message
// number, segment position, and segment-field-repetition-component path)
// and what kind of problem, never a value taken from the message, so it
// is safe to log.
type Error struct {
	Message int    // 1-based number of the message in a stream; 0 for a single message
	Segment int    // 1-based position of the segment in the message; 0 unknown or outside a message (the Reason then names the line)
	Loc     Path   // location; Loc.Segment is "" when the segment name itself is unusable
	Reason  string // fixed text describing the problem
	Err     error  // one of the sentinel errors
}

// Error formats as "hl7v2: message 2: PID-5[1].1: reason".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hl7v2: ")
	if e.Message > 0 {
		b.WriteString("message ")
		b.WriteString(strconv.Itoa(e.Message))
		b.WriteString(": ")
	}
	switch {
	case e.Loc.Segment != "":
		b.WriteString(e.Loc.String())
		b.WriteString(": ")
	case e.Segment > 0:
		b.WriteString("segment ")
		b.WriteString(strconv.Itoa(e.Segment))
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func errAt(seg int, loc Path, kind error, reason string) *Error {
	return &Error{Segment: seg, Loc: loc, Reason: reason, Err: kind}
}

// withMessage stamps a message number on err if it is an *Error.
func withMessage(err error, n int) error {
	var e *Error
	if errors.As(err, &e) && e.Message == 0 {
		c := *e
		c.Message = n
		return &c
	}
	return err
}
