package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
)

// discardRemote counts what is uploaded and keeps nothing.
type discardRemote struct{ fakeRemote }

func (d *discardRemote) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	return io.Copy(io.Discard, r)
}

var _ connectors.Remote = (*discardRemote)(nil)

// seedAppointments stores n Appointments in the default window of exportAt,
// each with its own Patient, sharing 200 Practitioners and 20 Locations.
func seedAppointments(b *testing.B, st *store.Store, n int) {
	ctx := context.Background()
	put := func(tx *store.Tx, typ, id, body string) error {
		_, _, err := tx.PutResource(ctx, typ, id, []byte(body))
		return err
	}
	err := st.InTx(ctx, func(tx *store.Tx) error {
		for i := range 200 {
			if err := put(tx, "Practitioner", fmt.Sprintf("prac-%d", i), fmt.Sprintf(`{"resourceType":"Practitioner","id":"prac-%d","name":[{"family":"Apellido%d","given":["Nombre"]}],"telecom":[{"system":"email","value":"m%d@example.org"}]}`, i, i, i)); err != nil {
				return err
			}
		}
		for i := range 20 {
			if err := put(tx, "Location", fmt.Sprintf("loc-%d", i), fmt.Sprintf(`{"resourceType":"Location","id":"loc-%d","name":"Consulta %d"}`, i, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	start := exportAt.Add(-20 * time.Hour).UTC()
	for lo := 0; lo < n; lo += 1000 {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := lo; i < min(lo+1000, n); i++ {
				if err := put(tx, "Patient", fmt.Sprintf("pat-%d", i), fmt.Sprintf(`{"resourceType":"Patient","id":"pat-%d","telecom":[{"system":"phone","value":"+34 600 %06d","use":"mobile"},{"system":"email","value":"p%d@example.org"}]}`, i, i, i)); err != nil {
					return err
				}
				at := start.Add(time.Duration(i%(90*60)) * time.Minute).Format(time.RFC3339)
				if err := put(tx, "Appointment", fmt.Sprintf("appt-%07d", i), fmt.Sprintf(`{"resourceType":"Appointment","id":"appt-%07d","status":"booked","start":%q,"participant":[{"actor":{"reference":"Patient/pat-%d"},"status":"accepted"},{"actor":{"reference":"Practitioner/prac-%d"},"status":"accepted"},{"actor":{"reference":"Location/loc-%d"},"status":"accepted"}]}`, i, at, i, i%200, i%20)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExport exports EXPORT_BENCH_N (default 100,000) stored
// Appointments, each resolving its Patient, Practitioner and Location, to
// a discarding remote; it reports rows/s and the peak heap seen while
// running (sampled every 10 ms).
func BenchmarkExport(b *testing.B) {
	n := 100_000
	if s := os.Getenv("EXPORT_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	st := openStore(b)
	seedAppointments(b, st, n)
	for _, name := range []string{"tuotempo/export", "tuotempo/reservations"} {
		b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
			spec := mustSpec(b, "bench", name, map[string]string{"timezone": "Europe/Madrid"})
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			go func() {
				var m runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
						runtime.ReadMemStats(&m)
						if m.HeapAlloc > peak.Load() {
							peak.Store(m.HeapAlloc)
						}
					}
				}
			}()
			b.ResetTimer()
			rows := 0
			for range b.N {
				res, err := Run(context.Background(), st, &discardRemote{}, spec, exportAt, RunOptions{})
				if err != nil {
					b.Fatal(err)
				}
				rows += res.Rows
			}
			b.StopTimer()
			close(stop)
			if rows != n*b.N {
				b.Fatalf("%d rows, want %d", rows, n*b.N)
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapAlloc))/(1<<20), "peak-heap-MB")
		})
	}
}
