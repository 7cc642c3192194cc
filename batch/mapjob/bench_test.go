package mapjob

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"testing"

	"github.com/fhirbridge/fhirbridge/fixtures"
	"github.com/fhirbridge/fhirbridge/mapping"
)

// benchInput is the benchmark's 200 synthetic patients repeated to 2,000.
func benchInput(b *testing.B) []byte {
	b.Helper()
	data, err := fs.ReadFile(fixtures.Bench, "bench/patients-200.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Repeat(data, 10)
}

// BenchmarkMapJob measures the whole engine as `fhirbridge map` runs it:
// NDJSON split, strict parse, the solo-bench mapping, JSON out, in input
// order. Reported as patients per second (res/s).
func BenchmarkMapJob(b *testing.B) {
	m, err := mapping.Load(fixtures.Bench, "bench/solo-bench.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput(b)
	n := bytes.Count(in, []byte("\n"))
	for _, workers := range []int{1, 0} {
		name := "workers=1"
		if workers == 0 {
			name = "workers=all"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for i := 0; i < b.N; i++ {
				st, err := Run(context.Background(), Options{Mapping: m, In: bytes.NewReader(in), Out: io.Discard, Workers: workers})
				if err != nil || st.Written != n {
					b.Fatalf("wrote %d of %d: %v", st.Written, n, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "res/s")
		})
	}
}
