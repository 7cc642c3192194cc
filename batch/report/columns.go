package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrColumns is matched (errors.Is) by a *ColumnError.
var ErrColumns = errors.New("the report's columns differ from what the mapping expects")

// ColumnError refuses a report whose header row differs from the
// mapping's declared columns. It names columns, which are the vendor's
// field names; each name is cut to 40 characters and at most 20 are
// listed, so a file without a header (whose first row would be read as
// one) cannot spill a whole row into a log.
type ColumnError struct {
	// Missing are the expected columns the file lacks, in mapping order.
	Missing []string
	// Unexpected are the file's columns the mapping does not expect, in
	// file order.
	Unexpected []string
}

// Error lists the missing and the unexpected columns.
func (e *ColumnError) Error() string {
	var b strings.Builder
	b.WriteString(ErrColumns.Error())
	if len(e.Missing) > 0 {
		fmt.Fprintf(&b, "; missing %d: %s", len(e.Missing), quoteList(e.Missing))
	}
	if len(e.Unexpected) > 0 {
		fmt.Fprintf(&b, "; unexpected %d: %s", len(e.Unexpected), quoteList(e.Unexpected))
	}
	return b.String()
}

// Is makes errors.Is(err, ErrColumns) true.
func (e *ColumnError) Is(target error) bool { return target == ErrColumns }

func quoteList(names []string) string {
	const maxNames, maxLen = 20, 40
	var parts []string
	for i, n := range names {
		if i == maxNames {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(names)-maxNames))
			break
		}
		if r := []rune(n); len(r) > maxLen {
			n = string(r[:maxLen]) + "…"
		}
		parts = append(parts, strconv.Quote(n))
	}
	return strings.Join(parts, ", ")
}

// CheckColumns compares a report's header with the expected columns. The
// order of the columns does not matter (rows are read by name); a missing
// or an unexpected column does. It returns nil or a *ColumnError.
func CheckColumns(header, want []string) error {
	have := make(map[string]bool, len(header))
	for _, h := range header {
		have[h] = true
	}
	expected := make(map[string]bool, len(want))
	e := &ColumnError{}
	for _, w := range want {
		expected[w] = true
		if !have[w] {
			e.Missing = append(e.Missing, w)
		}
	}
	for _, h := range header {
		if !expected[h] {
			e.Unexpected = append(e.Unexpected, h)
		}
	}
	if len(e.Missing) == 0 && len(e.Unexpected) == 0 {
		return nil
	}
	return e
}
