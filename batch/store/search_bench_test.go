package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkExportWindow compares reading an export's 4-day window of
// 20,000 stored Appointments (one every 3 hours) by scanning every
// current one (as before the start index) and through CurrentWhere.
func BenchmarkExportWindow(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	err = s.InTx(ctx, func(tx *Tx) error {
		for i := range 20000 {
			st := searchT0.Add(time.Duration(i-10000) * 3 * time.Hour)
			body := fmt.Sprintf(`{"resourceType":"Appointment","start":%q,"status":"booked"}`, st.Format(time.RFC3339))
			if _, _, err := tx.PutResource(ctx, "Appointment", fmt.Sprintf("ap%05d", i), []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	f := Filter{StartFrom: searchT0.Add(-24 * time.Hour), StartBefore: searchT0.Add(72 * time.Hour)}
	nop := func(string, int, []byte) error { return nil }
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if err := s.Current(ctx, "Appointment", nop); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if err := s.CurrentWhere(ctx, "Appointment", f, nop); err != nil {
				b.Fatal(err)
			}
		}
	})
}
