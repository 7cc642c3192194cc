package inbound

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestBadNamesMovedAside: a file whose name is too long or holds a line
// break is moved to the error folder under a clean name with a report,
// counted in the metric and listed in Report.Rejected — not processed and
// not retried on every poll — while a good file next to it is processed.
func TestBadNamesMovedAside(t *testing.T) {
	cases := []struct {
		name, file, reason string
	}{
		{"line break", "cancellations_1\n.csv", "control_character"},
		{"too long", "cancellations_" + strings.Repeat("9", 250) + ".csv", "name_too_long"},
		{"carriage return mid-name", "cancellations_\r2.csv", "control_character"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics()
			e := newEnv(t, Spec{}, Options{Metrics: m})
			e.remote.write(tt.file, rows("a1;;;;p;CANCELLED by USER"))
			e.remote.write("cancellations_ok.csv", rows("a2;;;;p;CANCELLED by USER"))
			rep := e.poll(0) // refused at once: no need to wait for it to settle
			if len(rep.Rejected) != 1 || rep.Rejected[0].Reason != tt.reason || rep.Rejected[0].Err != nil {
				t.Fatalf("rejected %+v", rep.Rejected)
			}
			moved := rep.Rejected[0].MovedTo
			if !strings.HasPrefix(moved, "error/rejected-name-") || !strings.HasSuffix(moved, ".csv") || !e.remote.has(moved) || e.remote.has(tt.file) {
				t.Errorf("moved to %q", moved)
			}
			if r := e.remote.content(moved + ReportSuffix); !strings.Contains(r, tt.reason) {
				t.Errorf("report %q", r)
			}
			var files []FileReport
			for range 2 {
				done := e.poll(2 * time.Minute)
				files = append(files, done.Files...)
				if len(done.Rejected) != 0 {
					t.Errorf("rejected again: %+v", done.Rejected)
				}
			}
			if len(files) != 1 || files[0].Path != "cancellations_ok.csv" || files[0].Err != nil {
				t.Errorf("files processed %+v", files)
			}
			if n := testutil.ToFloat64(m.rejected.WithLabelValues("tuotempo-cancellations", tt.reason)); n != 1 {
				t.Errorf("metric %v", n)
			}
		})
	}
}
