package export

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestCancelledNotExported runs the scheduled export's selection over
// stored Appointments of every status: the default tuotempo/export leaves
// out those that will not take place (tuOtempO would remind them), counts
// them as skipped, and include_cancelled brings them back.
func TestCancelledNotExported(t *testing.T) {
	at := time.Date(2026, 12, 1, 6, 0, 0, 0, madrid)
	statuses := map[string]string{
		"a-booked": "booked", "b-cancelled": "cancelled", "c-noshow": "noshow",
		"d-error": "entered-in-error", "e-pending": "pending", "f-arrived": "arrived",
	}
	cases := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"default leaves out cancelled, noshow, entered-in-error", nil, "a-booked,e-pending,f-arrived"},
		{"include_cancelled false", map[string]string{"include_cancelled": "false"}, "a-booked,e-pending,f-arrived"},
		{"include_cancelled true", map[string]string{"include_cancelled": "true"}, "a-booked,b-cancelled,c-noshow,d-error,e-pending,f-arrived"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			for id, status := range statuses {
				a := appointment(id, at.Add(time.Hour))
				a.Set("status", decode(`"`+status+`"`))
				putResources(t, st, a)
			}
			putResources(t, st, mustJSON(t, `{"resourceType":"Practitioner","id":"p1","name":[{"text":"Dr One"}]}`))
			res, err := Run(context.Background(), st, nil, mustSpec(t, "s", "tuotempo/export", tc.params), at, RunOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(ids(t, res.CSV, ','), ",")
			if got != tc.want {
				t.Errorf("exported %s, want %s", got, tc.want)
			}
			if want := len(statuses) - res.Rows; res.Skipped != want || res.RefusedCount != 0 {
				t.Errorf("skipped %d, refused %d; want %d skipped, none refused", res.Skipped, res.RefusedCount, want)
			}
		})
	}
}
