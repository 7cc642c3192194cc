package main

import (
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
)

func TestDeliveriesListFormatting(t *testing.T) {
	due := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		job      delivery.JobInfo
		wantNext string
		wantLine []string // substrings of the job's line
	}{
		{"pending shows its due time", delivery.JobInfo{ID: 1, Flow: "solo-patients", ResourceType: "Patient", ResourceID: "p1", Version: 1, State: delivery.StatePending, RunAt: due},
			"2026-12-01T06:00:00Z", []string{"2026-12-01T06:00:00Z"}},
		{"dead letter has no next run", delivery.JobInfo{ID: 2, Flow: "solo-patients", ResourceType: "Patient", ResourceID: "p2", Version: 1, State: delivery.StateDeadLetter, RunAt: time.Unix(0, 0), LastError: "422 Waiting room not found"},
			"—", []string{"  —  ", "422 Waiting room not found"}},
		{"delivered has no next run", delivery.JobInfo{ID: 3, Flow: "f", ResourceType: "Patient", ResourceID: "p3", Version: 2, State: delivery.StateDelivered},
			"—", []string{"Patient/p3/_history/2"}},
		{"pending with a zero time has none", delivery.JobInfo{ID: 4, Flow: "f", ResourceType: "Patient", ResourceID: "p4", Version: 1, State: delivery.StatePending},
			"—", nil},
		{"a multi-line error stays on one line, cut", delivery.JobInfo{ID: 5, Flow: "f", ResourceType: "Patient", ResourceID: "p5", Version: 1, State: delivery.StateDeadLetter,
			LastError: "first line\n\tsecond line\r\n" + strings.Repeat("x", 200)},
			"—", []string{"first line second line xxx", "…"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextRun(tc.job); got != tc.wantNext {
				t.Errorf("next run %q, want %q", got, tc.wantNext)
			}
			var out strings.Builder
			if err := writeJobs(&out, []delivery.JobInfo{tc.job}); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d lines, want the header and one job line:\n%s", len(lines), out.String())
			}
			if strings.Contains(lines[1], "1970") {
				t.Errorf("the line shows the epoch: %s", lines[1])
			}
			for _, want := range tc.wantLine {
				if !strings.Contains(lines[1], want) {
					t.Errorf("line lacks %q: %s", want, lines[1])
				}
			}
			if n := len([]rune(lines[1])); n > 200 {
				t.Errorf("line is %d runes long; the error is not cut", n)
			}
		})
	}
}

func TestFilesListFormatting(t *testing.T) {
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		detail string
		want   string // the DETAIL cell, the end of the line
	}{
		{"short detail as is", "6 rows; manifest m.json", "6 rows; manifest m.json"},
		{"no detail", "", "—"},
		{"multi-line detail on one line", "3 rows refused:\nline 4: field APP_LID\n\tline 9: field APP_DATE", "3 rows refused: line 4: field APP_LID line 9: field APP_DATE"},
		{"long detail cut with an ellipsis", strings.Repeat("refused ", 30), strings.TrimSpace(strings.Repeat("refused ", 10)) + "…"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := ledger.Entry{Direction: ledger.In, Job: "cancellations", Path: "cancellations_1.csv", Size: 10, SHA256: strings.Repeat("ab", 32), RowsOK: 1, Outcome: "ok", Detail: tc.detail, At: at}
			var out strings.Builder
			if err := writeLedger(&out, []ledger.Entry{e, e}); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if len(lines) != 3 {
				t.Fatalf("%d lines, want the header and two entry lines:\n%s", len(lines), out.String())
			}
			for _, l := range lines[1:] {
				if !strings.HasSuffix(l, "  "+tc.want) {
					t.Errorf("line does not end with the detail %q:\n%s", tc.want, l)
				}
			}
		})
	}
}
