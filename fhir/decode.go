package fhir

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxDepth is the nesting limit Decode applies when the options
// give none. FHIR resources in the wild nest well under 30 levels.
const DefaultMaxDepth = 64

// DecodeOptions tunes Decode.
type DecodeOptions struct {
	// MaxDepth caps the nesting of arrays and objects (DefaultMaxDepth when 0).
	MaxDepth int
	// MaxElements caps the JSON values (objects, arrays, strings, numbers,
	// literals) of the whole document, so a Bundle counts those of its
	// entries too; 0 means no cap. Memory and validation time grow with
	// this count, not with the byte size: 10 MB of "[0,0,…]" holds five
	// million values. Over it Decode fails with an error matching ErrLimit.
	MaxElements int
	// MaxArray caps the items of one array; 0 means no cap. Over it Decode
	// fails with an error matching ErrLimit.
	MaxArray int
	// Arena, when set, supplies the memory of the decoded Values (see
	// Arena); without it each call allocates its own.
	Arena *Arena
	// Root names the top of the document in error paths (default: the
	// resourceType when one can be read, else "$").
	Root string
}

// SyntaxError reports JSON that is not acceptable: malformed, duplicate or
// case-variant keys, invalid UTF-8, too deep. Its message gives the line,
// column and element path and never a value from the document.
type SyntaxError struct {
	Offset int    // byte offset of the fault
	Line   int    // 1-based line
	Col    int    // 1-based column, in bytes
	Path   string // element path of the fault, e.g. Patient.name[0]
	Msg    string // what is wrong
	// Limit is set when the document is well-formed so far but passes a
	// cap of DecodeOptions (MaxElements or MaxArray).
	Limit bool
}

// Error gives line, column, path and the problem, never a value.
func (e *SyntaxError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("line %d col %d (%s): %s", e.Line, e.Col, e.Path, e.Msg)
	}
	return fmt.Sprintf("line %d col %d: %s", e.Line, e.Col, e.Msg)
}

// ErrSyntax is matched by every *SyntaxError with errors.Is.
var ErrSyntax = errors.New("invalid JSON")

// ErrLimit is matched (with errors.Is) by a *SyntaxError that reports a
// document over a cap of DecodeOptions rather than malformed JSON: callers
// may answer it as "too large" rather than "invalid".
var ErrLimit = errors.New("JSON over a decoding limit")

// Is makes errors.Is(err, ErrSyntax) true for syntax errors, and
// errors.Is(err, ErrLimit) true for those over a cap.
func (e *SyntaxError) Is(target error) bool {
	return target == ErrSyntax || target == ErrLimit && e.Limit
}

// Decode parses one JSON document strictly: exactly one value with only
// white space around it, valid UTF-8, no duplicate keys and no keys that
// differ only in case within one object (Go's encoding/json would silently
// merge both), nesting at most MaxDepth, at most MaxElements values and
// MaxArray items per array when those are set.
func Decode(data []byte, opt DecodeOptions) (*Value, error) {
	return DecodeString(string(data), opt)
}

// DecodeString is Decode over a string; the Value shares its memory.
func DecodeString(s string, opt DecodeOptions) (*Value, error) {
	a := opt.Arena
	if a == nil {
		a = &Arena{}
	}
	d := decoder{s: s, max: opt.MaxDepth, a: a, path: a.path[:0],
		maxElems: opt.MaxElements, maxArray: opt.MaxArray}
	defer func() { a.path = d.path[:0] }()
	if d.max <= 0 {
		d.max = DefaultMaxDepth
	}
	d.root = opt.Root
	d.skipSpace()
	v := d.value(0)
	if d.err != nil {
		return nil, d.err
	}
	d.skipSpace()
	if d.pos != len(d.s) {
		d.fail("unexpected data after the JSON value")
		return nil, d.err
	}
	return v, nil
}

type decoder struct {
	s    string
	pos  int
	max  int
	root string
	err  *SyntaxError
	// caps of DecodeOptions (0: none) and the values allocated so far
	maxElems, maxArray, elems int
	// stack of the keys and indexes above the current value, for paths
	path []pathStep
	a    *Arena
}

type pathStep struct {
	key   string
	index int // -1 for a key step
}

func (d *decoder) alloc() *Value {
	return &d.a.values.take(1)[0]
}

// failLimit records a cap of DecodeOptions passed at d.pos.
func (d *decoder) failLimit(msg string) {
	if d.err == nil {
		d.fail(msg)
		d.err.Limit = true
	}
}

func (d *decoder) fail(msg string) {
	if d.err != nil {
		return
	}
	line, col := 1, 1
	for i := 0; i < d.pos && i < len(d.s); i++ {
		if d.s[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	d.err = &SyntaxError{Offset: d.pos, Line: line, Col: col, Path: d.pathString(), Msg: msg}
}

func (d *decoder) pathString() string {
	if len(d.path) == 0 {
		return ""
	}
	var b strings.Builder
	root := d.root
	if root == "" {
		root = guessRoot(d.s)
	}
	b.WriteString(root)
	for _, st := range d.path {
		if st.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
		} else {
			b.WriteByte('.')
			b.WriteString(safeKey(st.key))
		}
	}
	return b.String()
}

// guessRoot returns the resourceType member of the top-level object of s
// when it is a plain name, else "$". It runs only when reporting an error,
// over a document that may be malformed after that member.
func guessRoot(s string) string {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return "$"
			}
			if depth == 1 && s[i+1:j] == "resourceType" {
				rest := strings.TrimLeft(s[j+1:], " \t\r\n")
				rest, ok := strings.CutPrefix(rest, ":")
				rest = strings.TrimLeft(rest, " \t\r\n")
				if !ok || !strings.HasPrefix(rest, `"`) {
					return "$"
				}
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return "$"
				}
				if name := rest[1 : 1+end]; safeKey(name) == name && name[0] >= 'A' && name[0] <= 'Z' {
					return name
				}
				return "$"
			}
			i = j
		}
	}
	return "$"
}

// safeKey keeps a key in an error path only when it has the syntax of a
// FHIR element name (a letter or '_', then letters, digits and '_', at most
// 64 bytes); anything else could carry data and is shown as "?".
func safeKey(k string) string {
	if k == "" || len(k) > 64 {
		return "?"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return "?"
		}
	}
	return k
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.s) {
		switch d.s[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) *Value {
	if d.pos >= len(d.s) {
		d.fail("unexpected end of JSON")
		return nil
	}
	// Counted before anything is allocated for the value, so that a
	// document over the cap costs at most MaxElements Values.
	if d.elems++; d.maxElems > 0 && d.elems > d.maxElems {
		d.failLimit(fmt.Sprintf("more than %d elements in the document", d.maxElems))
		return nil
	}
	switch c := d.s[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		s, ok := d.str()
		if !ok {
			return nil
		}
		v := d.alloc()
		v.Kind, v.Str = String, s
		return v
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	default:
		for _, lit := range [...]struct {
			text string
			kind Kind
		}{{"true", Bool}, {"false", Bool}, {"null", Null}} {
			if strings.HasPrefix(d.s[d.pos:], lit.text) {
				v := d.alloc()
				v.Kind, v.Str = lit.kind, lit.text
				if lit.kind == Null {
					v.Str = ""
				}
				d.pos += len(lit.text)
				return v
			}
		}
		d.fail("invalid character where a JSON value was expected")
		return nil
	}
}

func (d *decoder) object(depth int) *Value {
	if depth > d.max {
		d.fail(fmt.Sprintf("nesting deeper than %d levels", d.max))
		return nil
	}
	d.pos++ // {
	v := d.alloc()
	v.Kind = Object
	d.skipSpace()
	if d.pos < len(d.s) && d.s[d.pos] == '}' {
		d.pos++
		return v
	}
	base := len(d.a.mstack)
	defer func() { d.a.mstack = d.a.mstack[:base] }()
	for {
		d.skipSpace()
		if d.pos >= len(d.s) || d.s[d.pos] != '"' {
			d.fail("expected a string key")
			return nil
		}
		keyPos := d.pos
		key, ok := d.str()
		if !ok {
			return nil
		}
		for i := range d.a.mstack[base:] {
			k := d.a.mstack[base+i].Key
			if len(k) == len(key) && (k == key || strings.EqualFold(k, key)) {
				d.pos = keyPos
				d.path = append(d.path, pathStep{key: key, index: -1})
				if k == key {
					d.fail("duplicate key")
				} else {
					d.fail("key differs only in case from an earlier key")
				}
				return nil
			}
		}
		d.skipSpace()
		if d.pos >= len(d.s) || d.s[d.pos] != ':' {
			d.fail("expected ':' after an object key")
			return nil
		}
		d.pos++
		d.skipSpace()
		d.path = append(d.path, pathStep{key: key, index: -1})
		val := d.value(depth)
		if d.err != nil {
			return nil
		}
		d.path = d.path[:len(d.path)-1]
		d.a.mstack = append(d.a.mstack, Member{Key: key, Value: val})
		d.skipSpace()
		if d.pos >= len(d.s) {
			d.fail("unexpected end of JSON inside an object")
			return nil
		}
		if d.s[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.s[d.pos] == '}' {
			d.pos++
			v.Members = d.a.members.take(len(d.a.mstack) - base)
			copy(v.Members, d.a.mstack[base:])
			return v
		}
		d.fail("expected ',' or '}' in an object")
		return nil
	}
}

func (d *decoder) array(depth int) *Value {
	if depth > d.max {
		d.fail(fmt.Sprintf("nesting deeper than %d levels", d.max))
		return nil
	}
	d.pos++ // [
	v := d.alloc()
	v.Kind = Array
	d.skipSpace()
	if d.pos < len(d.s) && d.s[d.pos] == ']' {
		d.pos++
		v.Items = []*Value{}
		return v
	}
	base := len(d.a.istack)
	defer func() { d.a.istack = d.a.istack[:base] }()
	for {
		d.skipSpace()
		n := len(d.a.istack) - base
		d.path = append(d.path, pathStep{index: n})
		if d.maxArray > 0 && n >= d.maxArray {
			d.failLimit(fmt.Sprintf("more than %d items in an array", d.maxArray))
			return nil
		}
		it := d.value(depth)
		if d.err != nil {
			return nil
		}
		d.path = d.path[:len(d.path)-1]
		d.a.istack = append(d.a.istack, it)
		d.skipSpace()
		if d.pos >= len(d.s) {
			d.fail("unexpected end of JSON inside an array")
			return nil
		}
		if d.s[d.pos] == ',' {
			d.pos++
			continue
		}
		if d.s[d.pos] == ']' {
			d.pos++
			v.Items = d.a.items.take(len(d.a.istack) - base)
			copy(v.Items, d.a.istack[base:])
			return v
		}
		d.fail("expected ',' or ']' in an array")
		return nil
	}
}

func (d *decoder) number() *Value {
	start := d.pos
	s := d.s
	i := d.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		d.fail("invalid number")
		return nil
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			d.pos = i
			d.fail("invalid number: no digits after '.'")
			return nil
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			d.pos = i
			d.fail("invalid number: no digits in the exponent")
			return nil
		}
	}
	d.pos = i
	v := d.alloc()
	v.Kind, v.Str = Number, s[start:i]
	return v
}

// str reads a string literal at d.pos (which holds '"').
func (d *decoder) str() (string, bool) {
	s := d.s
	i := d.pos + 1
	start := i
	for i < len(s) {
		c := s[i]
		if c == '"' {
			d.pos = i + 1
			return s[start:i], true
		}
		if c == '\\' {
			return d.strSlow(start)
		}
		if c < 0x20 {
			d.pos = i
			d.fail("control character in a string")
			return "", false
		}
		if c >= 0x80 {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				d.pos = i
				d.fail("invalid UTF-8 in a string")
				return "", false
			}
			i += n
			continue
		}
		i++
	}
	d.pos = i
	d.fail("unterminated string")
	return "", false
}

func (d *decoder) strSlow(start int) (string, bool) {
	s := d.s
	var b strings.Builder
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return b.String(), true
		case c == '\\':
			if i+1 >= len(s) {
				d.pos = i
				d.fail("unterminated escape")
				return "", false
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				i += 2
			case 'b':
				b.WriteByte('\b')
				i += 2
			case 'f':
				b.WriteByte('\f')
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					d.pos = i
					d.fail("invalid \\u escape")
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(0), false
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok2 = hex4(s, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						d.pos = i
						d.fail("unpaired UTF-16 surrogate in a \\u escape")
						return "", false
					}
				}
				b.WriteRune(r)
			default:
				d.pos = i
				d.fail("invalid escape character")
				return "", false
			}
		case c < 0x20:
			d.pos = i
			d.fail("control character in a string")
			return "", false
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				d.pos = i
				d.fail("invalid UTF-8 in a string")
				return "", false
			}
			b.WriteString(s[i : i+n])
			i += n
		default:
			b.WriteByte(c)
			i++
		}
	}
	d.pos = i
	d.fail("unterminated string")
	return "", false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
