package hl7v2

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxPathLen bounds the length of a path expression.
const MaxPathLen = 64

// maxIndex bounds every number in a path (field, repetition, ...).
const maxIndex = 9999

// Path addresses a value in a message: SEG[occ]-field[rep].comp.sub, for
// example "PID-3", "OBX[2]-5", "PID-5[1].1", "SCH-11.4", "PID-3[2].4.1".
// Numbers are 1-based; a zero means "not given" and reads as 1 (the
// first occurrence, repetition, component or subcomponent), so "PID-5"
// reads the first component of the first repetition of PID-5.
type Path struct {
	Segment    string // three characters, e.g. "PID", "ZPI"
	Occurrence int    // which segment of that name (OBX[2]); 0 = first
	Field      int    // field number; 0 only in error locations naming a whole segment
	Repetition int    // 0 = first
	Component  int    // 0 = first
	Sub        int    // subcomponent; 0 = first; needs Component
}

// ParsePath parses a path strictly: upper-case segment name of three
// letters or digits starting with a letter, numbers 1–9999 without sign
// or leading zero, nothing else. Its String is the input back.
func ParsePath(s string) (Path, error) {
	var p Path
	if len(s) > MaxPathLen {
		return p, pathErr(s, 0, "longer than 64 characters")
	}
	if len(s) < 3 || !validName(s[:3]) {
		return p, pathErr(s, 0, "segment name must be three upper-case letters or digits starting with a letter")
	}
	p.Segment = s[:3]
	i := 3
	var err error
	if i < len(s) && s[i] == '[' {
		if p.Occurrence, i, err = bracket(s, i); err != nil {
			return Path{}, err
		}
	}
	if i >= len(s) || s[i] != '-' {
		return Path{}, pathErr(s, i, "expected '-' and a field number")
	}
	if p.Field, i, err = number(s, i+1); err != nil {
		return Path{}, err
	}
	if i < len(s) && s[i] == '[' {
		if p.Repetition, i, err = bracket(s, i); err != nil {
			return Path{}, err
		}
	}
	if i < len(s) && s[i] == '.' {
		if p.Component, i, err = number(s, i+1); err != nil {
			return Path{}, err
		}
		if i < len(s) && s[i] == '.' {
			if p.Sub, i, err = number(s, i+1); err != nil {
				return Path{}, err
			}
		}
	}
	if i != len(s) {
		return Path{}, pathErr(s, i, "unexpected character")
	}
	return p, nil
}

// MustParsePath is ParsePath that panics on error, for constant paths.
func MustParsePath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func bracket(s string, i int) (int, int, error) {
	n, j, err := number(s, i+1)
	if err != nil {
		return 0, 0, err
	}
	if j >= len(s) || s[j] != ']' {
		return 0, 0, pathErr(s, j, "expected ']'")
	}
	return n, j + 1, nil
}

func number(s string, i int) (int, int, error) {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	switch {
	case j == i:
		return 0, 0, pathErr(s, i, "expected a number")
	case s[i] == '0':
		return 0, 0, pathErr(s, i, "numbers start at 1, without leading zero")
	case j-i > 4:
		return 0, 0, pathErr(s, i, "number above 9999")
	}
	n, _ := strconv.Atoi(s[i:j])
	return n, j, nil
}

func pathErr(s string, col int, msg string) error {
	// A path is configuration, not message data: quoting it is safe.
	if len(s) > MaxPathLen {
		s = s[:MaxPathLen] + "…"
	}
	return fmt.Errorf("hl7v2: path %q, column %d: %s: %w", s, col+1, msg, ErrPath)
}

// validName reports whether s is a segment name: [A-Z][A-Z0-9]{2}.
func validName(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// String formats the path canonically, showing only the parts given:
// "OBX[2]-5", "PID-5[1].1". A zero Field gives the segment alone.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Segment)
	if p.Occurrence > 0 {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(p.Occurrence))
		b.WriteByte(']')
	}
	if p.Field == 0 {
		return b.String()
	}
	b.WriteByte('-')
	b.WriteString(strconv.Itoa(p.Field))
	if p.Repetition > 0 {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(p.Repetition))
		b.WriteByte(']')
	}
	if p.Component > 0 {
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(p.Component))
		if p.Sub > 0 {
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(p.Sub))
		}
	}
	return b.String()
}

// valid reports whether p could have come from ParsePath.
func (p Path) valid() bool {
	ok := func(n int) bool { return n >= 0 && n <= maxIndex }
	return validName(p.Segment) && p.Field >= 1 && p.Field <= maxIndex &&
		ok(p.Occurrence) && ok(p.Repetition) && ok(p.Component) && ok(p.Sub) &&
		(p.Sub == 0 || p.Component > 0)
}

func first(n int) int {
	if n < 1 {
		return 1
	}
	return n
}
