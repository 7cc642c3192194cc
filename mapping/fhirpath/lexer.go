package fhirpath

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind classifies a lexer token.
type tokKind uint8

const (
	tEOF        tokKind = iota
	tIdent              // identifier or keyword; text holds the name
	tDelimIdent         // `backtick identifier`; text holds the unescaped name
	tString             // 'string'; text holds the unescaped value
	tNumber             // 12 or 1.5
	tDate               // @2014-01-01, @2014-01-01T10:00, text without '@'
	tTime               // @T10:00, text without "@T"
	tExtConst           // %name, %`name` or %'name'; text holds the name
	tSpecial            // $this, $index, $total; text holds "this"...
	tOp                 // punctuation and operators
)

// token is one lexeme with its 1-based column.
type token struct {
	kind tokKind
	text string
	col  int
}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		// skip white space and comments
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
				i++
			} else if strings.HasPrefix(src[i:], "//") {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else if strings.HasPrefix(src[i:], "/*") {
				end := strings.Index(src[i+2:], "*/")
				if end < 0 {
					return nil, errAt(src, i, "unterminated comment")
				}
				i += end + 4
			} else {
				break
			}
		}
		if i >= len(src) {
			toks = append(toks, token{kind: tEOF, col: colOf(src, i)})
			return toks, nil
		}
		start := i
		c := src[i]
		switch {
		case isIdentStart(c):
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tIdent, text: src[start:i], col: colOf(src, start)})
		case c >= '0' && c <= '9':
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			if i+1 < len(src) && src[i] == '.' && src[i+1] >= '0' && src[i+1] <= '9' {
				i++
				for i < len(src) && src[i] >= '0' && src[i] <= '9' {
					i++
				}
			}
			toks = append(toks, token{kind: tNumber, text: src[start:i], col: colOf(src, start)})
		case c == '\'' || c == '`':
			s, n, err := unquote(src, i)
			if err != nil {
				return nil, err
			}
			i = n
			k := tString
			if c == '`' {
				k = tDelimIdent
			}
			toks = append(toks, token{kind: k, text: s, col: colOf(src, start)})
		case c == '@':
			i++
			if i < len(src) && src[i] == 'T' {
				i++
				j := i
				i = scanDate(src, i)
				toks = append(toks, token{kind: tTime, text: src[j:i], col: colOf(src, start)})
				break
			}
			j := i
			i = scanDate(src, i)
			if i == j {
				return nil, errAt(src, start, "invalid date literal")
			}
			toks = append(toks, token{kind: tDate, text: src[j:i], col: colOf(src, start)})
		case c == '%':
			i++
			if i < len(src) && (src[i] == '`' || src[i] == '\'') {
				s, n, err := unquote(src, i)
				if err != nil {
					return nil, err
				}
				i = n
				toks = append(toks, token{kind: tExtConst, text: s, col: colOf(src, start)})
				break
			}
			j := i
			for i < len(src) && (isIdentPart(src[i]) || src[i] == '-') {
				i++
			}
			if i == j {
				return nil, errAt(src, start, "expected a name after %")
			}
			toks = append(toks, token{kind: tExtConst, text: src[j:i], col: colOf(src, start)})
		case c == '$':
			i++
			j := i
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			name := src[j:i]
			if name != "this" && name != "index" && name != "total" {
				return nil, errAt(src, start, "unknown special variable")
			}
			toks = append(toks, token{kind: tSpecial, text: name, col: colOf(src, start)})
		default:
			op := ""
			for _, o := range ops2 {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if strings.IndexByte("+-*/&|<>=~()[]{}.,", c) < 0 {
					return nil, errAt(src, i, "unexpected character")
				}
				op = src[i : i+1]
			}
			i += len(op)
			toks = append(toks, token{kind: tOp, text: op, col: colOf(src, start)})
		}
	}
}

var ops2 = []string{"<=", ">=", "!=", "!~"}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func isDateChar(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == ':' || c == 'T' || c == '+' || c == 'Z'
}

// scanDate advances over a date/time literal body starting at i.
func scanDate(src string, i int) int {
	for i < len(src) {
		if isDateChar(src[i]) || (src[i] == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9') {
			i++
			continue
		}
		break
	}
	return i
}

// unquote reads a quoted string or backtick identifier starting at src[i],
// returning the unescaped text and the index after the closing quote.
func unquote(src string, i int) (string, int, error) {
	q := src[i]
	start := i
	i++
	var b strings.Builder
	for i < len(src) {
		c := src[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(src) {
			break
		}
		e := src[i+1]
		i += 2
		switch e {
		case '\'', '"', '`', '\\', '/':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 > len(src) {
				return "", 0, errAt(src, i-2, "invalid unicode escape")
			}
			n, err := strconv.ParseUint(src[i:i+4], 16, 32)
			if err != nil {
				return "", 0, errAt(src, i-2, "invalid unicode escape")
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			return "", 0, errAt(src, i-2, "invalid escape sequence")
		}
	}
	return "", 0, errAt(src, start, "unterminated string")
}

// colOf returns the 1-based column (in runes, on its line) of byte offset i.
func colOf(src string, i int) int {
	if i > len(src) {
		i = len(src)
	}
	ls := strings.LastIndexByte(src[:i], '\n') + 1
	return utf8.RuneCountInString(src[ls:i]) + 1
}
