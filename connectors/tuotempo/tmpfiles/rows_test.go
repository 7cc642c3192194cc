package tmpfiles

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestJobs: defaults per table, and every refusal naming its key.
func TestJobs(t *testing.T) {
	names := map[string]bool{"tuotempo-export": true}
	jobs, err := Jobs("connectors.tuotempo.delete_reservations", DeleteReservation, []Folder{{Name: "del", Dir: "/in/"}}, names)
	if err != nil {
		t.Fatal(err)
	}
	if j := jobs[0]; j.Pattern != DefaultDeletePattern || j.Dir != "in" || j.Every != connectors.Duration(DefaultEvery) ||
		j.MinAge != connectors.Duration(DefaultMinAge) || j.MaxFileSize != DefaultMaxFileSize || j.MaxRowSize != DefaultMaxRowSize {
		t.Errorf("defaults %+v", j)
	}
	for _, tc := range []struct {
		name   string
		folder Folder
		want   string
	}{
		{"no name", Folder{Dir: "x"}, "connectors.tuotempo.reservations_tmp[0]: name is required"},
		{"name taken", Folder{Name: "tuotempo-export"}, `connectors.tuotempo.reservations_tmp[0]: duplicate job name "tuotempo-export"`},
		{"bad glob", Folder{Name: "a", Pattern: "TT_[*.csv"}, `connectors.tuotempo.reservations_tmp[0]: pattern "TT_[*.csv"`},
		{"pattern with a folder", Folder{Name: "a", Pattern: "in/*.csv"}, `pattern "in/*.csv"`},
		{"negative interval", Folder{Name: "a", Every: -1}, "every and min_age must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Jobs("connectors.tuotempo.reservations_tmp", ReservationsTmp, []Folder{tc.folder}, names)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestReadRows: the header rules and each row's action or reason.
func TestReadRows(t *testing.T) {
	type got struct {
		line   int
		op     string
		appLID string
		reason string
	}
	for _, tc := range []struct {
		name    string
		table   Table
		content string
		want    []got
		errWant string
	}{
		{"actions", ReservationsTmp, "APP_LID|APP_TID|APP_ACTION|APP_DATE|APP_START_TIME|RESOURCE_LID\n|T1|add|02/12/2026|09:30|p\nA2|T2|UPDATE|02/12/2026|09:30|p\nA3|T3|delete|||\n",
			[]got{{2, opAdd, "", ""}, {3, opMove, "A2", ""}, {4, opCancel, "A3", ""}}, ""},
		{"header with spaces and a BOM; tab delimiter", ReservationsTmp, "\ufeff APP_LID \tAPP_TID\tAPP_ACTION\tAPP_DATE\tAPP_START_TIME\tRESOURCE_LID\nA1\tT1\tdelete\t\t\t\n",
			[]got{{2, opCancel, "A1", ""}}, ""},
		{"update without APP_LID", ReservationsTmp, "APP_LID,APP_TID,APP_ACTION,APP_DATE,APP_START_TIME,RESOURCE_LID\n,T1,update,02/12/2026,09:30,p\n",
			[]got{{2, "", "", "APP_LID is empty (update names the appointment)"}}, ""},
		{"cell over its limit", ReservationsTmp, "APP_LID,APP_TID,APP_ACTION,APP_DATE,APP_START_TIME,RESOURCE_LID\n,T1,add,02/12/2026,09:30," + strings.Repeat("p", 51) + "\n",
			[]got{{2, "", "", "RESOURCE_LID longer than 50 characters"}}, ""},
		{"wrong number of cells", DeleteReservation, "APP_LID,INSERT_TIME\nA1\n", []got{{2, "", "", "x"}}, ""},
		{"missing column", DeleteReservation, "INSERT_TIME\nx\n", nil, "column APP_LID is missing"},
		{"table column of the other table", DeleteReservation, "APP_LID,APP_ACTION\nA1,delete\n", nil, "column 2 is not a column of the table"},
		{"empty file", DeleteReservation, "", nil, "header refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gots []got
			err := readRows(strings.NewReader(tc.content), tc.table, 1024, func(line int, a action, reason string) error {
				gots = append(gots, got{line, a.op, a.appLID, reason})
				return nil
			})
			if tc.errWant != "" {
				if !errors.Is(err, errHeader) || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("error %v, want a header error with %q", err, tc.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(gots) != len(tc.want) {
				t.Fatalf("rows %+v, want %+v", gots, tc.want)
			}
			for i, w := range tc.want {
				g := gots[i]
				if w.reason == "x" { // any reason
					if g.reason == "" || g.line != w.line {
						t.Errorf("row %d: %+v, want a refusal on line %d", i, g, w.line)
					}
					continue
				}
				if g != w {
					t.Errorf("row %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// FuzzReadRows: any input gives header errors or rows, never a panic; an
// accepted row names a known operation, update and delete name their
// appointment, and no parameter is empty, exceeds its column's limit or
// is a bookkeeping column.
func FuzzReadRows(f *testing.F) {
	f.Add(tmpHeader + "1,,TT-9,ADD,02/12/2026,09:30,09:50,,U-1,Ana,600000001,prac-1,act-1,,,x\n")
	f.Add("APP_LID;APP_TID;APP_ACTION;APP_DATE;APP_START_TIME;RESOURCE_LID\n\"a\"\"b\";t;update;d;s;r\n")
	f.Add("APP_LID\n\"unterminated\n")
	f.Fuzz(func(t *testing.T, content string) {
		for _, table := range []Table{ReservationsTmp, DeleteReservation} {
			tb := tables[table]
			_ = readRows(strings.NewReader(content), table, 512, func(line int, a action, reason string) error {
				if line < 2 {
					t.Fatalf("data row on line %d", line)
				}
				if reason != "" {
					return nil
				}
				switch a.op {
				case opAdd:
				case opMove, opCancel:
					if a.appLID == "" {
						t.Fatalf("%s without APP_LID", a.op)
					}
				default:
					t.Fatalf("operation %q", a.op)
				}
				for k, v := range a.params {
					c, ok := tb.columns[k]
					if !ok || !c.pass || utf8.RuneCountInString(v) > c.max || v == "" {
						t.Fatalf("parameter %s (%d characters) passed on", k, utf8.RuneCountInString(v))
					}
				}
				return nil
			})
		}
	})
}
