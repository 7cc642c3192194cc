package report

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestLimits: Measure and Run both refuse a report over a byte or a row
// cap, and Run stops handing the Sink resources once the cap is passed.
func TestLimits(t *testing.T) {
	csv := simReport(t, 1, 10) // header + 10 rows
	cases := []struct {
		name    string
		lim     Limits
		wantErr bool
	}{
		{"defaults", Limits{}, false},
		{"exact rows", Limits{MaxRows: 10}, false},
		{"exact bytes", Limits{MaxBytes: int64(len(csv))}, false},
		{"one row too many", Limits{MaxRows: 9}, true},
		{"one byte too many", Limits{MaxBytes: int64(len(csv)) - 1}, true},
		{"header only fits", Limits{MaxBytes: 300}, true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Measure(context.Background(), strings.NewReader(csv), tt.lim, nil)
			if got := errors.Is(err, ErrTooLarge); got != tt.wantErr {
				t.Fatalf("Measure: err %v", err)
			}
			if err == nil && (m.Rows != 10 || m.Bytes != int64(len(csv))) {
				t.Errorf("Measure: %+v", m)
			}
			if err != nil && !strings.Contains(err.Error(), "--max-") {
				t.Errorf("Measure: %q does not say how to raise the cap", err)
			}
			sink := &countSink{}
			_, err = Run(context.Background(), Options{Mapping: shippedMapping(t), In: strings.NewReader(csv), Sink: sink, Limits: tt.lim, Workers: 1})
			if got := errors.Is(err, ErrTooLarge); got != tt.wantErr {
				t.Fatalf("Run: err %v", err)
			}
			if tt.lim.MaxRows > 0 && sink.n > 2*tt.lim.MaxRows {
				t.Errorf("Run handed the Sink %d resources past a cap of %d rows", sink.n, tt.lim.MaxRows)
			}
		})
	}
}
