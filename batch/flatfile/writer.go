package flatfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/csvsafe"
)

// The quoting styles of WriteOptions.Quote.
const (
	// QuoteMinimal quotes a field only when RFC 4180 requires it: it holds
	// the delimiter, a double quote, CR or LF (and an empty value when the
	// file has a single column, which would otherwise be a blank line).
	QuoteMinimal = "minimal"
	// QuoteAll quotes every field, header included.
	QuoteAll = "all"
)

// Sentinel errors of Writer.Write, matched with errors.Is.
var (
	// ErrNotObject reports a row that is not a JSON object.
	ErrNotObject = errors.New("row is not an object")
	// ErrUnsupportedValue reports an array or object member, which has
	// no flat representation.
	ErrUnsupportedValue = errors.New("array or object value cannot be written to a cell")
	// ErrUnrepresentable reports a character the output encoding lacks.
	ErrUnrepresentable = errors.New("character not representable in the output encoding")
)

// WriteOptions configures a Writer. The zero value writes UTF-8, comma
// separated, LF line breaks, minimal quoting, no formula escaping.
type WriteOptions struct {
	// Delimiter separates fields; zero means ','. It must be an ASCII
	// character other than '"', CR and LF.
	Delimiter rune
	// CRLF ends lines with CR LF (as RFC 4180 says) instead of LF.
	CRLF bool
	// Encoding is EncodingUTF8 (the default) or EncodingWindows1252.
	Encoding string
	// Lossy replaces characters the encoding cannot represent (and
	// invalid UTF-8) with '?' (U+FFFD in UTF-8) instead of failing the row.
	Lossy bool
	// Quote is QuoteMinimal (the default, also for "") or QuoteAll.
	Quote string
	// EscapeFormulas applies csvsafe.Escape to every string value, so a
	// spreadsheet does not evaluate cells as formulas. Numbers and the
	// header are left alone.
	EscapeFormulas bool
}

// Writer writes rows to a delimited flat file, header first. Output is
// buffered: call Flush at the end. It is not safe for concurrent use.
type Writer struct {
	bw       *bufio.Writer
	cols     []string
	delim    byte
	eol      string
	cp1252   bool
	lossy    bool
	quoteAll bool
	escape   bool

	header bool  // header row written
	rows   int   // calls to Write so far
	err    error // sticky: option, header or write error
	line   []byte
	cell   []byte
}

// NewWriter returns a Writer of the given columns to w. Invalid options,
// or an empty or duplicate column name, are reported by the first Write
// or Flush (wrapping ErrOption).
func NewWriter(w io.Writer, columns []string, opt WriteOptions) *Writer {
	wr := &Writer{
		bw:     bufio.NewWriterSize(w, 64<<10),
		cols:   append([]string(nil), columns...),
		delim:  ',',
		eol:    "\n",
		lossy:  opt.Lossy,
		escape: opt.EscapeFormulas,
	}
	if opt.CRLF {
		wr.eol = "\r\n"
	}
	if opt.Delimiter != 0 {
		if !validDelimiter(opt.Delimiter) {
			wr.err = fmt.Errorf("%w: delimiter must be an ASCII character other than '\"', CR and LF", ErrOption)
			return wr
		}
		wr.delim = byte(opt.Delimiter)
	}
	enc, err := parseEncoding(opt.Encoding)
	if err != nil {
		wr.err = err
		return wr
	}
	wr.cp1252 = enc == EncodingWindows1252
	switch strings.ToLower(opt.Quote) {
	case "", QuoteMinimal:
	case QuoteAll:
		wr.quoteAll = true
	default:
		wr.err = fmt.Errorf("%w: quote style must be %q or %q", ErrOption, QuoteMinimal, QuoteAll)
		return wr
	}
	if len(wr.cols) == 0 {
		wr.err = fmt.Errorf("%w: no columns", ErrOption)
		return wr
	}
	seen := make(map[string]int, len(wr.cols))
	for i, c := range wr.cols {
		if c == "" {
			wr.err = fmt.Errorf("%w: column %d has an empty name", ErrOption, i+1)
			return wr
		}
		if j, dup := seen[c]; dup {
			wr.err = fmt.Errorf("%w: column %d duplicates column %d", ErrOption, i+1, j+1)
			return wr
		}
		seen[c] = i
	}
	return wr
}

// Write writes one row: for each column, in order, the object member of
// that name. Strings are written as they are, numbers as their literal,
// booleans as true or false; an absent or null member is an empty field.
// Members that are not columns are ignored.
//
// Rows are numbered from 1 by the calls to Write. A row that cannot be
// written (not an object, an array or object member, a character the
// encoding lacks) is not written at all; the error names the row and the
// column and wraps ErrNotObject, ErrUnsupportedValue, ErrUnrepresentable
// or ErrInvalidUTF8, and later rows can still be written. Option and
// write errors are returned again by every later call.
func (w *Writer) Write(rec *fhir.Value) error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	w.rows++
	if err := w.encodeRow(rec, w.rows); err != nil {
		return err
	}
	if _, err := w.bw.Write(w.line); err != nil {
		w.err = fmt.Errorf("flatfile: write: %w", err)
		return w.err
	}
	return nil
}

// WriteAll writes recs as consecutive rows, all or none: when one cannot
// be written (see Write), none is, and the error names it.
func (w *Writer) WriteAll(recs []*fhir.Value) error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	var all []byte
	for _, rec := range recs {
		w.rows++
		if err := w.encodeRow(rec, w.rows); err != nil {
			return err
		}
		all = append(all, w.line...)
	}
	if _, err := w.bw.Write(all); err != nil {
		w.err = fmt.Errorf("flatfile: write: %w", err)
		return w.err
	}
	return nil
}

// encodeRow encodes rec, row number row, into w.line.
func (w *Writer) encodeRow(rec *fhir.Value, row int) error {
	if rec == nil || rec.Kind != fhir.Object {
		return fmt.Errorf("flatfile: row %d: %w", row, ErrNotObject)
	}
	w.line = w.line[:0]
	for i, col := range w.cols {
		if i > 0 {
			w.line = append(w.line, w.delim)
		}
		v := rec.Get(col)
		var text string
		if v != nil {
			switch v.Kind {
			case fhir.Null:
			case fhir.String:
				text = v.Str
				if w.escape {
					text = csvsafe.Escape(text)
				}
			case fhir.Number, fhir.Bool:
				text = v.Str
			default:
				return fmt.Errorf("flatfile: row %d, column %q: %w (got %s)", row, col, ErrUnsupportedValue, v.Kind)
			}
		}
		if err := w.appendField(text); err != nil {
			return fmt.Errorf("flatfile: row %d, column %q: %w", row, col, err)
		}
	}
	w.line = append(w.line, w.eol...)
	return nil
}

// Flush writes the header if nothing was written yet (so an empty export
// still has one) and flushes buffered output to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if !w.header {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("flatfile: write: %w", err)
		return w.err
	}
	return nil
}

func (w *Writer) writeHeader() error {
	w.header = true
	w.line = w.line[:0]
	for i, col := range w.cols {
		if i > 0 {
			w.line = append(w.line, w.delim)
		}
		if err := w.appendField(col); err != nil {
			w.err = fmt.Errorf("flatfile: header column %d: %w", i+1, err)
			return w.err
		}
	}
	w.line = append(w.line, w.eol...)
	if _, err := w.bw.Write(w.line); err != nil {
		w.err = fmt.Errorf("flatfile: write: %w", err)
		return w.err
	}
	return nil
}

// appendField encodes s and appends it to w.line, quoted if need be.
func (w *Writer) appendField(s string) error {
	cell, err := w.encode(w.cell[:0], s)
	w.cell = cell
	if err != nil {
		return err
	}
	if !w.quoteAll && !w.needsQuote(cell) {
		w.line = append(w.line, cell...)
		return nil
	}
	w.line = append(w.line, '"')
	for _, c := range cell {
		if c == '"' {
			w.line = append(w.line, '"')
		}
		w.line = append(w.line, c)
	}
	w.line = append(w.line, '"')
	return nil
}

func (w *Writer) needsQuote(cell []byte) bool {
	if len(cell) == 0 {
		return len(w.cols) == 1 // else a blank line, which readers skip
	}
	for _, c := range cell {
		if c == w.delim || c == '"' || c == '\r' || c == '\n' {
			return true
		}
	}
	return false
}

// encode appends s in the output encoding to dst.
func (w *Writer) encode(dst []byte, s string) ([]byte, error) {
	if !w.cp1252 {
		if utf8.ValidString(s) {
			return append(dst, s...), nil
		}
		if w.lossy {
			return append(dst, strings.ToValidUTF8(s, "\uFFFD")...), nil
		}
		return dst, ErrInvalidUTF8
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		b, ok := encodeRune1252(r)
		if r == utf8.RuneError && size == 1 {
			ok = false
		}
		if !ok {
			if !w.lossy {
				return dst, ErrUnrepresentable
			}
			b = '?'
		}
		dst = append(dst, b)
	}
	return dst, nil
}
