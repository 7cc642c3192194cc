package fhir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Default limits of Read.
const (
	DefaultMaxLine     = 64 << 20  // longest NDJSON line
	DefaultMaxDocument = 256 << 20 // largest single document or Bundle
)

// ReadOptions tunes Read. The zero value is usable.
type ReadOptions struct {
	// Strict validates every resource (see Validate) and reports problems
	// through OnError as an *OperationOutcome wrapped in an *EntryError.
	Strict bool
	// MaxLine caps one NDJSON line (DefaultMaxLine when 0); a longer line
	// is skipped and reported as a *LineTooLongError.
	MaxLine int
	// MaxDocument caps a single resource or Bundle document
	// (DefaultMaxDocument when 0).
	MaxDocument int64
	// MaxDepth caps JSON nesting (DefaultMaxDepth when 0).
	MaxDepth int
	// OnError, when set, receives each problem with one entry: index is
	// the NDJSON line (1-based), the Bundle entry index, or -1 for the
	// Bundle as a whole; err is an *EntryError. Returning nil skips the
	// entry and goes on; returning an error stops Read, which returns it.
	// Without OnError the first problem stops Read. Failures of the input
	// as a whole (an unreadable stream, a Bundle that is not valid JSON) are
	// returned by Read and never passed to OnError.
	OnError func(index int, err error) error
}

// Entry is one resource yielded by Read.
type Entry struct {
	// Resource is the resource; nil for a Bundle entry without one (e.g. a
	// transaction DELETE), which is yielded too so that its request is seen.
	Resource *Value
	// ResourceType and ID are the resource's resourceType and id, or "".
	ResourceType, ID string
	// FullURL is the Bundle entry's fullUrl, or "".
	FullURL string
	// Method and URL are the Bundle entry's request.method and request.url.
	Method, URL string
	// Index is the Bundle entry index (0-based), the NDJSON line number
	// (1-based), or 0 for a single resource.
	Index int
	// Path locates the resource in the input: "Bundle.entry[3].resource",
	// "line 7", or the resource type of a single resource.
	Path string
	// Resolver resolves references made by this resource: the Bundle's
	// index for Bundle entries, and one that resolves nothing otherwise.
	// Never nil.
	Resolver Resolver
	// Bundle is the Bundle the entry came from, or nil.
	Bundle *Bundle
}

// EntryError is a problem with one entry of the input. Its message gives
// the position and never a value from the input.
type EntryError struct {
	Index int    // as Entry.Index; -1 for the Bundle as a whole
	Path  string // as Entry.Path
	Err   error  // a *SyntaxError, *OperationOutcome or *LineTooLongError
}

// Error names the entry and the problem, never a value.
func (e *EntryError) Error() string { return "reading " + e.Path + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *EntryError) Unwrap() error { return e.Err }

// LineTooLongError reports an NDJSON line over ReadOptions.MaxLine.
type LineTooLongError struct {
	Line, Max int
}

// Error names the line and the limit.
func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than the limit of %d bytes", e.Line, e.Max)
}

// ErrTooLarge is returned when a single document exceeds MaxDocument.
var ErrTooLarge = errors.New("document larger than the limit")

var noResolver Resolver = ResolverFunc(func(string) *Value { return nil })

// Read streams the resources of r to fn. r holds one of: a single resource,
// a Bundle of any type (each entry is yielded, with its index, fullUrl and
// request), or NDJSON (one resource per line, blank lines skipped), which
// is recognised when the first non-blank line is a complete JSON object
// followed by another non-blank line (or when both look like one-line
// objects, so a broken first line is reported per line). NDJSON is read a
// line at a time, so memory stays flat whatever the input size. An error
// from fn stops Read and is returned as it is.
//
// With Strict, a Bundle is validated as a whole first. Problems with one
// entry are reported per entry and the entry is skipped; problems with the
// Bundle itself are reported with index -1. A transaction Bundle with any
// problem yields no entries at all, since a transaction is all or nothing.
func Read(r io.Reader, opt ReadOptions, fn func(Entry) error) error {
	if opt.MaxLine <= 0 {
		opt.MaxLine = DefaultMaxLine
	}
	if opt.MaxDocument <= 0 {
		opt.MaxDocument = DefaultMaxDocument
	}
	br := bufio.NewReaderSize(r, 64<<10)
	lr := lineReader{br: br, max: opt.MaxLine, record: true}
	first, err := lr.nextNonBlank()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("reading input: %w", &SyntaxError{Line: 1, Col: 1, Msg: "no JSON content"})
		}
		return fmt.Errorf("reading input: %w", err)
	}
	st := ndjson{lr: &lr, opt: opt, fn: fn}
	if first.tooLong {
		return st.run(first, lr.line)
	}
	if looksNDJSON(first.data) {
		head, headLine := bytes.Clone(first.data), lr.line
		second, err := lr.nextNonBlank()
		switch {
		case err == nil && (isObject(head, opt.MaxDepth) || looksNDJSON(second.data) || second.tooLong):
			lr.record, lr.raw = false, nil
			if err := st.line(head, headLine, false); err != nil {
				return err
			}
			return st.run(second, lr.line)
		case err != nil && !errors.Is(err, io.EOF):
			return fmt.Errorf("reading input: %w", err)
		}
	}
	head := lr.raw
	lr.record, lr.raw = false, nil
	return readDocument(head, &lr, opt, fn)
}

// looksNDJSON reports whether a trimmed line could be a one-line object.
func looksNDJSON(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) >= 2 && t[0] == '{' && t[len(t)-1] == '}'
}

func isObject(line []byte, maxDepth int) bool {
	v, err := Decode(line, DecodeOptions{MaxDepth: maxDepth})
	return err == nil && v.Kind == Object
}

// readDocument reads the rest of the input as one resource or Bundle.
func readDocument(head []byte, lr *lineReader, opt ReadOptions, fn func(Entry) error) error {
	data := head
	rest, err := io.ReadAll(io.LimitReader(lr.br, opt.MaxDocument-int64(len(data))+1))
	if err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	data = append(data, rest...)
	if int64(len(data)) > opt.MaxDocument {
		return fmt.Errorf("reading input: %w (%d bytes)", ErrTooLarge, opt.MaxDocument)
	}
	v, err := DecodeString(string(data), DecodeOptions{MaxDepth: opt.MaxDepth})
	if err != nil {
		return fmt.Errorf("reading resource: %w", err)
	}
	if v.Kind != Object {
		return fmt.Errorf("reading resource: %w", &SyntaxError{Line: 1, Col: 1, Msg: "a resource must be a JSON object"})
	}
	if v.ResourceType() == "Bundle" {
		return readBundle(v, opt, fn)
	}
	e := entryFor(v)
	e.Path = pathOr(e.ResourceType, "resource")
	if err := checkResource(v, opt.Strict, ""); err != nil {
		return report(opt, 0, e.Path, err)
	}
	return fn(e)
}

func pathOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func entryFor(v *Value) Entry {
	return Entry{Resource: v, ResourceType: v.ResourceType(), ID: v.GetString("id"), Resolver: noResolver}
}

// checkResource returns the problems with a resource read at the top of a
// document or line: a missing resourceType always, all of Validate when
// strict.
func checkResource(v *Value, strict bool, path string) error {
	if strict {
		if oo := Validate(v, path); oo != nil {
			return oo
		}
		return nil
	}
	if v.Kind != Object {
		return (*OperationOutcome)(nil).Add(CodeStructure, path, "a resource must be a JSON object")
	}
	if rt := v.Get("resourceType"); rt == nil || rt.Kind != String || rt.Str == "" {
		return (*OperationOutcome)(nil).Add(CodeStructure, joinPath(path, "resourceType"), "resourceType is missing or not a string")
	}
	return nil
}

// report passes a problem with one entry to OnError, or returns it.
func report(opt ReadOptions, index int, path string, err error) error {
	ee := &EntryError{Index: index, Path: path, Err: err}
	if opt.OnError == nil {
		return ee
	}
	return opt.OnError(index, ee)
}

func lineName(n int) string { return "line " + strconv.Itoa(n) }
