package tmpfiles

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/batch/flatfile"
)

// column is one column of a temporary table: its nvarchar limit, and
// whether the row's value is passed on to the Booker.
type column struct {
	max  int
	pass bool
}

// table is a temporary table's columns (the guide's), the columns its
// header must name, and the bookkeeping columns never passed on.
type table struct {
	columns  map[string]column
	required []string
}

// tables are the two temporary tables, after the guide's tables (B.1
// TT_RESERVATIONS_TMP, A.2.3 TT_DELETE_RESERVATION).
var tables = map[Table]table{
	ReservationsTmp: {
		columns: withCols(map[string]column{
			"APP_TMP_ID": {10, false}, "APP_LID": {50, true}, "APP_TID": {50, true}, "APP_ACTION": {10, false},
			"APP_DATE": {10, true}, "APP_START_TIME": {5, true}, "APP_END_TIME": {5, true},
			"USER_LID": {50, true}, "USER_TID": {50, true}, "USER_FIRST_NAME": {50, true}, "USER_SECOND_NAME": {50, true},
			"USER_THIRD_NAME": {50, true}, "USER_ID_NUMBER": {50, true}, "USER_LANDLINE_PHONE": {50, true},
			"USER_MOBILE_PHONE": {50, true}, "USER_EMAIL": {50, true}, "USER_DATE_OF_BIRTH": {10, true},
			"USER_GENDER": {10, true}, "USER_ZIP_CODE": {10, true}, "USER_WORK_PHONE": {50, true},
			"USER_NOTES": {500, true}, "USER_LANGUAGE": {10, true}, "RESOURCE_LID": {50, true},
			"ACTIVITY_LID": {50, true}, "INSURANCE_LID": {50, true}, "LOCATION_LID": {50, true},
			"STATUS": {50, true}, "NOTES": {500, true}, "APP_OWNER_LID": {50, true}, "APP_OWNER_TID": {50, true},
			"APP_OWNER_NAME": {50, true}, "STATUS_TRIGGER": {4000, false}, "INSERT_TIME": {30, false},
		}, "APP_CUSTOM_", 5, column{500, true}),
		required: []string{"APP_LID", "APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID"},
	},
	DeleteReservation: {
		columns: map[string]column{
			"APP_TMP_ID": {10, false}, "APP_LID": {50, true}, "USER_LANDLINE_PHONE": {50, false},
			"USER_MOBILE_PHONE": {50, false}, "USER_EMAIL": {50, false}, "APP_STATUS": {4000, false},
			"STATUS_TRIGGER": {4000, false}, "INSERT_TIME": {30, false},
		},
		required: []string{"APP_LID"},
	},
}

// withCols adds the numbered columns prefix0 … prefix(n-1) to cols.
func withCols(cols map[string]column, prefix string, n int, c column) map[string]column {
	for i := range n {
		cols[fmt.Sprintf("%s%d", prefix, i)] = c
	}
	return cols
}

// The operations a row asks of the Booker.
const (
	opAdd    = "add"
	opMove   = "update"
	opCancel = "delete"
)

// action is what one row asks: the operation, the appointment it names
// (update, delete) and the parameters passed on (add, update).
type action struct {
	op     string
	appLID string
	params map[string]string
}

// errHeader marks a file refused for its header.
var errHeader = errors.New("header refused")

// readRows reads a temporary table file of t and calls fn once per data
// row with its physical line and either its action or, for a row refused
// before reaching the Booker, a reason (never a cell value). A header
// without a required column, with a column the table lacks or with one
// column twice is an error matching errHeader, before any row. Other
// errors are fn's or reading's.
func readRows(r io.Reader, t Table, maxRow int, fn func(line int, a action, reason string) error) error {
	tb, ok := tables[t]
	if !ok {
		return fmt.Errorf("unknown table %q", t)
	}
	rd, err := flatfile.NewReader(r, flatfile.ReadOptions{MaxRecordSize: maxRow})
	if errors.Is(err, flatfile.ErrHeader) || errors.Is(err, flatfile.ErrRecordTooLarge) {
		return fmt.Errorf("%w: %w", errHeader, err)
	}
	if err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	header := rd.Header()
	if err := checkHeader(tb, header); err != nil {
		return err
	}
	last := 1
	for {
		rec, err := rd.Next()
		var re *flatfile.RecordError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &re):
			last = re.Line
			if err := fn(re.Line, action{}, re.Msg); err != nil {
				return err
			}
			continue
		case errors.Is(err, flatfile.ErrRecordTooLarge):
			return fn(last+1, action{}, fmt.Sprintf("row longer than %d bytes; the rest of the file was not read", maxRow))
		case err != nil:
			return fmt.Errorf("reading rows: %w", err)
		}
		last = rec.Line
		cells := make(map[string]string, len(header))
		for _, m := range rec.Value.Members {
			cells[m.Key] = m.Value.Str
		}
		a, reason := rowAction(t, tb, cells)
		if err := fn(rec.Line, a, reason); err != nil {
			return err
		}
	}
}

// checkHeader refuses a header missing a required column, naming a column
// the table does not have, or naming one twice.
func checkHeader(tb table, header []string) error {
	seen := make(map[string]bool, len(header))
	for _, h := range header {
		name := strings.TrimSpace(h)
		if _, ok := tb.columns[name]; !ok {
			return fmt.Errorf("%w: column %d is not a column of the table", errHeader, len(seen)+1)
		}
		if seen[name] {
			return fmt.Errorf("%w: column %s appears twice", errHeader, name)
		}
		seen[name] = true
	}
	for _, c := range tb.required {
		if !seen[c] {
			return fmt.Errorf("%w: column %s is missing", errHeader, c)
		}
	}
	return nil
}

// rowAction turns one row's cells into its action, or a reason it is
// refused (naming columns, never values).
func rowAction(t Table, tb table, cells map[string]string) (action, string) {
	params := make(map[string]string, len(cells))
	for k, v := range cells {
		name := strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		c := tb.columns[name]
		if n := utf8.RuneCountInString(v); n > c.max {
			return action{}, fmt.Sprintf("%s longer than %d characters", name, c.max)
		}
		if v != "" && c.pass {
			params[name] = v
		}
	}
	a := action{appLID: params["APP_LID"]}
	if t == DeleteReservation {
		a.op = opCancel
	} else {
		a.op = strings.ToLower(strings.TrimSpace(cells["APP_ACTION"]))
		delete(params, "APP_LID")
		a.params = params
	}
	switch a.op {
	case opAdd:
		for _, c := range []string{"RESOURCE_LID", "APP_DATE", "APP_START_TIME"} {
			if params[c] == "" {
				return action{}, c + " is empty (add needs RESOURCE_LID, APP_DATE and APP_START_TIME)"
			}
		}
	case opMove, opCancel:
		if a.appLID == "" {
			return action{}, "APP_LID is empty (" + a.op + " names the appointment)"
		}
	default:
		return action{}, "APP_ACTION is not add, update or delete"
	}
	return a, ""
}
