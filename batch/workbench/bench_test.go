package workbench

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// BenchmarkStoreRange runs the shipped solo/patient mapping and an edit
// of it on 20,000 stored Patients (SQLite), streaming, and reports inputs
// per second and the heap in use at the end of the run, which stays
// bounded by the page size rather than the range.
//
//	go test -run '^$' -bench StoreRange -benchtime 1x ./batch/workbench
func BenchmarkStoreRange(b *testing.B) {
	const n = 20_000
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "fhirbridge.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for i := range n {
			v, err := fhir.DecodeString(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","gender":"female",`+
				`"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"value":"M%d"}],`+
				`"name":[{"use":"official","family":"Family%d","given":["Given"]}],"birthDate":"1980-01-01"}`, i, i, i), fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			if _, _, err := tx.PutValue(ctx, "Patient", v.GetString("id"), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	src, err := shipped.Resolve(nil, "solo/patient")
	if err != nil {
		b.Fatal(err)
	}
	text, err := fs.ReadFile(src.FS, src.File)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Load(src, nil, []byte(strings.Replace(string(text), "    from: gender\n", "    from: \"gender.upper()\"\n", 1)))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		var heap uint64
		s, err := Run(ctx, p, StoreRange(st, "Patient", time.Time{}, time.Time{}, 200), Options{MaxInputs: HardMaxInputs,
			OnResult: func(r Result) error {
				if r.N == n {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					heap = ms.HeapInuse
				}
				return nil
			}})
		if err != nil || s.Inputs != n || s.Changed != n {
			b.Fatalf("%+v %v", s, err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "inputs/s")
		b.ReportMetric(float64(heap)/(1<<20), "MiB-heap-at-end")
	}
}
