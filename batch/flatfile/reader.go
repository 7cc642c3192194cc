package flatfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// DefaultMaxRecordSize is the largest record, in bytes as read from the
// file, that a Reader accepts when ReadOptions.MaxRecordSize is zero.
const DefaultMaxRecordSize = 1 << 20

// The encodings a Reader and a Writer support (case is ignored; "" means
// EncodingUTF8, and "utf8" and "cp1252" are accepted as aliases).
const (
	EncodingUTF8        = "utf-8"
	EncodingWindows1252 = "windows-1252"
)

// Sentinel errors, matched with errors.Is. None of them, and no error that
// wraps them, carries the content of a cell.
var (
	// ErrOption reports an invalid ReadOptions or WriteOptions value.
	ErrOption = errors.New("flatfile: invalid option")
	// ErrHeader reports a missing or unusable header row.
	ErrHeader = errors.New("flatfile: invalid header")
	// ErrRecordTooLarge reports a record longer than the reader's limit.
	// It ends the reading: the reader cannot tell where the record ends.
	ErrRecordTooLarge = errors.New("flatfile: record too large")
	// ErrFieldCount reports a record whose number of fields differs from
	// the header's.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrBareQuote reports a double quote inside an unquoted field.
	ErrBareQuote = errors.New(`bare " in unquoted field`)
	// ErrQuote reports a quoted field that is not closed, or whose closing
	// quote is followed by something other than a delimiter or line break.
	ErrQuote = errors.New(`extraneous or missing " in quoted field`)
	// ErrInvalidUTF8 reports text that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
)

// ReadOptions configures a Reader. The zero value detects the delimiter,
// reads UTF-8 and caps records at DefaultMaxRecordSize.
type ReadOptions struct {
	// Delimiter forces the field delimiter. Zero detects it from the
	// header line: the most frequent of ',' ';' '|' and TAB outside
	// quotes, ',' when none occurs (ties go to that order). A forced
	// delimiter must be an ASCII character other than '"', CR and LF.
	Delimiter rune
	// Encoding is EncodingUTF8 (the default) or EncodingWindows1252.
	// A leading UTF-8 byte order mark is skipped in either case.
	Encoding string
	// MaxRecordSize caps one record, in bytes as read; zero means
	// DefaultMaxRecordSize.
	MaxRecordSize int
}

// Record is one data row read from a flat file.
type Record struct {
	// Line is the physical line where the record starts; the header is
	// line 1 (blank lines before it count).
	Line int
	// Value is an object with one string member per column, named after
	// the header, in header order.
	Value *fhir.Value
}

// RecordError reports a malformed record. The Reader has skipped the
// record and goes on with the next one. Msg says what is wrong and where
// (field position), never what the field contains.
type RecordError struct {
	// Line is the physical line where the record starts.
	Line int
	// Msg describes the problem.
	Msg string
	// Err is the sentinel for the kind of problem: ErrFieldCount,
	// ErrBareQuote, ErrQuote or ErrInvalidUTF8.
	Err error
}

// Error returns "flatfile: line N: " followed by Msg.
func (e *RecordError) Error() string {
	return fmt.Sprintf("flatfile: line %d: %s", e.Line, e.Msg)
}

// Unwrap returns Err, so errors.Is(err, ErrFieldCount) and the like work.
func (e *RecordError) Unwrap() error { return e.Err }

// Reader reads the records of a delimited flat file one at a time. It is
// not safe for concurrent use.
type Reader struct {
	br     *bufio.Reader
	delim  byte
	cp1252 bool
	max    int
	header []string

	line      int // physical lines consumed
	recStart  int // line where the current record starts
	recSize   int // raw bytes of the current record read so far
	lineBuf   []byte
	recBuf    []byte // unescaped field bytes of the current record
	ends      []int  // end offsets of the fields in recBuf
	decodeBuf []byte
	err       error // sticky: io.EOF, ErrRecordTooLarge, read errors
}

// NewReader returns a Reader over r after reading its header row. It
// fails with ErrOption for invalid options and ErrHeader when the header
// is missing, malformed, or has an empty or duplicate column name (the
// error names the column position).
func NewReader(r io.Reader, opt ReadOptions) (*Reader, error) {
	enc, err := parseEncoding(opt.Encoding)
	if err != nil {
		return nil, err
	}
	rd := &Reader{cp1252: enc == EncodingWindows1252, max: opt.MaxRecordSize}
	if rd.max < 0 {
		return nil, fmt.Errorf("%w: negative MaxRecordSize", ErrOption)
	}
	if rd.max == 0 {
		rd.max = DefaultMaxRecordSize
	}
	rd.br = bufio.NewReaderSize(r, 64<<10)
	if bom, _ := rd.br.Peek(3); bytes.Equal(bom, []byte("\xEF\xBB\xBF")) {
		_, _ = rd.br.Discard(3)
	}
	if opt.Delimiter != 0 {
		if !validDelimiter(opt.Delimiter) {
			return nil, fmt.Errorf("%w: delimiter must be an ASCII character other than '\"', CR and LF", ErrOption)
		}
		rd.delim = byte(opt.Delimiter)
	} else {
		// Peek returns what it has on EOF or error; a read error shows
		// up again when the header is read.
		head, _ := rd.br.Peek(rd.br.Size())
		rd.delim = detectDelimiter(head)
	}

	if err := rd.readRecord(); err != nil {
		var re *RecordError
		switch {
		case err == io.EOF:
			return nil, fmt.Errorf("%w: no header row", ErrHeader)
		case errors.As(err, &re):
			return nil, fmt.Errorf("%w: %w", ErrHeader, err)
		default:
			return nil, err
		}
	}
	text, err := rd.recordText(rd.recStart)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHeader, err)
	}
	rd.header = make([]string, len(rd.ends))
	seen := make(map[string]int, len(rd.ends))
	prev := 0
	for i, end := range rd.ends {
		name := text[prev:end]
		prev = end
		if name == "" {
			return nil, fmt.Errorf("%w: column %d is empty", ErrHeader, i+1)
		}
		if strings.ContainsRune(name, '\ufeff') || i == 0 && strings.HasPrefix(name, "\u00ef\u00bb\u00bf") {
			// a second byte order mark, one inside a name, or a UTF-8 one
			// read as Windows-1252 text: the file was concatenated or
			// re-encoded wrongly, and such a name matches nothing
			return nil, fmt.Errorf("%w: column %d holds a stray byte order mark (U+FEFF)", ErrHeader, i+1)
		}
		if j, dup := seen[name]; dup {
			return nil, fmt.Errorf("%w: column %d duplicates column %d", ErrHeader, i+1, j+1)
		}
		seen[name] = i
		rd.header[i] = name
	}
	return rd, nil
}

// Header returns a copy of the column names, in file order.
func (r *Reader) Header() []string { return append([]string(nil), r.header...) }

// Delimiter returns the field delimiter in use, forced or detected.
func (r *Reader) Delimiter() rune { return rune(r.delim) }

// Next returns the next record. At the end of the input it returns io.EOF.
// A malformed record yields a *RecordError and the following call goes on
// with the next record. Any other error (a record over the size limit,
// wrapping ErrRecordTooLarge, or a read error) ends the reading and is
// returned again by later calls.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	if err := r.readRecord(); err != nil {
		var re *RecordError
		if !errors.As(err, &re) {
			r.err = err
		}
		return Record{}, err
	}
	if len(r.ends) != len(r.header) {
		return Record{}, &RecordError{
			Line: r.recStart,
			Msg:  fmt.Sprintf("%v: got %d, want %d", ErrFieldCount, len(r.ends), len(r.header)),
			Err:  ErrFieldCount,
		}
	}
	text, err := r.recordText(r.recStart)
	if err != nil {
		return Record{}, err
	}
	vals := make([]fhir.Value, len(r.ends))
	members := make([]fhir.Member, len(r.ends))
	prev := 0
	for i, end := range r.ends {
		vals[i] = fhir.Value{Kind: fhir.String, Str: text[prev:end]}
		members[i] = fhir.Member{Key: r.header[i], Value: &vals[i]}
		prev = end
	}
	return Record{Line: r.recStart, Value: &fhir.Value{Kind: fhir.Object, Members: members}}, nil
}

// recordText returns the current record's fields as one string, decoded
// from Windows-1252 or checked as UTF-8; r.ends is updated to index it.
func (r *Reader) recordText(line int) (string, error) {
	if !r.cp1252 {
		// Field by field: bytes of two fields may join into a valid
		// sequence when the buffer is checked as a whole.
		prev := 0
		for i, end := range r.ends {
			if !utf8.Valid(r.recBuf[prev:end]) {
				return "", &RecordError{Line: line, Msg: fmt.Sprintf("%v in field %d", ErrInvalidUTF8, i+1), Err: ErrInvalidUTF8}
			}
			prev = end
		}
		return string(r.recBuf), nil
	}
	out := r.decodeBuf[:0]
	prev := 0
	for i, end := range r.ends {
		out = appendDecode1252(out, r.recBuf[prev:end])
		prev = end
		r.ends[i] = len(out)
	}
	r.decodeBuf = out
	return string(out), nil
}

var errLineTooLarge = errors.New("line too large")

// readLine reads one physical line and returns it without its line break
// (LF or CRLF), and whether it had one. The slice is valid until the next
// call. It returns io.EOF only when no byte is left.
func (r *Reader) readLine() (line []byte, nl bool, err error) {
	r.lineBuf = r.lineBuf[:0]
	for {
		chunk, err := r.br.ReadSlice('\n')
		r.recSize += len(chunk)
		if r.recSize > r.max {
			return nil, false, errLineTooLarge
		}
		if err == bufio.ErrBufferFull {
			r.lineBuf = append(r.lineBuf, chunk...)
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, fmt.Errorf("flatfile: read: %w", err)
		}
		line = chunk
		if len(r.lineBuf) > 0 {
			r.lineBuf = append(r.lineBuf, chunk...)
			line = r.lineBuf
		}
		if len(line) == 0 {
			return nil, false, io.EOF
		}
		r.line++
		if n := len(line); line[n-1] == '\n' {
			nl = true
			line = line[:n-1]
			if n >= 2 && line[n-2] == '\r' {
				line = line[:n-2]
			}
		}
		return line, nl, nil
	}
}

// readRecord reads the next record's fields into r.recBuf and r.ends,
// skipping blank lines. After a *RecordError the rest of the physical
// line where the problem was found has been consumed.
func (r *Reader) readRecord() error {
	err := r.parseRecord()
	if err == errLineTooLarge {
		return fmt.Errorf("flatfile: line %d: %w (limit %d bytes)", r.recStart, ErrRecordTooLarge, r.max)
	}
	return err
}

func (r *Reader) parseRecord() error {
	var (
		line []byte
		nl   bool
		err  error
	)
	for {
		r.recSize = 0
		r.recStart = r.line + 1
		line, nl, err = r.readLine()
		if err != nil {
			return err
		}
		if len(line) > 0 {
			break
		}
	}
	start := r.recStart
	r.recBuf = r.recBuf[:0]
	r.ends = r.ends[:0]
	pos := 0
	for field := 1; ; field++ {
		if pos < len(line) && line[pos] == '"' {
			pos++
			for {
				i := bytes.IndexByte(line[pos:], '"')
				if i < 0 {
					r.recBuf = append(r.recBuf, line[pos:]...)
					if nl {
						r.recBuf = append(r.recBuf, '\n')
						line, nl, err = r.readLine()
					} else {
						err = io.EOF
					}
					if err == io.EOF {
						return &RecordError{Line: start, Msg: fmt.Sprintf("%v: quoted field %d is not closed before the end of the file", ErrQuote, field), Err: ErrQuote}
					}
					if err != nil {
						return err
					}
					pos = 0
					continue
				}
				r.recBuf = append(r.recBuf, line[pos:pos+i]...)
				pos += i + 1
				if pos < len(line) && line[pos] == '"' {
					r.recBuf = append(r.recBuf, '"')
					pos++
					continue
				}
				break
			}
			r.ends = append(r.ends, len(r.recBuf))
			if pos == len(line) {
				return nil
			}
			if line[pos] == r.delim {
				pos++
				continue
			}
			return &RecordError{Line: start, Msg: fmt.Sprintf("%v: unexpected character after the closing quote of field %d", ErrQuote, field), Err: ErrQuote}
		}
		i := bytes.IndexByte(line[pos:], r.delim)
		f := line[pos:]
		if i >= 0 {
			f = line[pos : pos+i]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			return &RecordError{Line: start, Msg: fmt.Sprintf("%v %d", ErrBareQuote, field), Err: ErrBareQuote}
		}
		r.recBuf = append(r.recBuf, f...)
		r.ends = append(r.ends, len(r.recBuf))
		if i < 0 {
			return nil
		}
		pos += i + 1
	}
}

// detectDelimiter picks the most frequent of , ; | and TAB outside quotes
// in the first non-blank line of head; ',' when none occurs.
func detectDelimiter(head []byte) byte {
	const cands = ",;|\t"
	var counts [len(cands)]int
	inQuote, seen := false, false
	for _, c := range head {
		if c == '"' {
			inQuote = !inQuote
			seen = true
			continue
		}
		if inQuote {
			continue
		}
		if c == '\n' {
			if seen {
				break
			}
			continue
		}
		if c != '\r' {
			seen = true
		}
		if i := strings.IndexByte(cands, c); i >= 0 {
			counts[i]++
		}
	}
	best := 0
	for i := range counts {
		if counts[i] > counts[best] {
			best = i
		}
	}
	return cands[best]
}

func validDelimiter(d rune) bool {
	return d > 0 && d < utf8.RuneSelf && d != '"' && d != '\r' && d != '\n'
}

func parseEncoding(name string) (string, error) {
	switch strings.ToLower(name) {
	case "", "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("%w: unsupported encoding (want %q or %q)", ErrOption, EncodingUTF8, EncodingWindows1252)
}
