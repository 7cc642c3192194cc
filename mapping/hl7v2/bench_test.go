package hl7v2

import "testing"

// BenchmarkParseSIU measures parsing a realistic SIU^S12 (12 segments).
func BenchmarkParseSIU(b *testing.B) {
	data := []byte(siuS12)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkParseAndReadSIU adds the reads a mapping of SIU^S12 does.
func BenchmarkParseAndReadSIU(b *testing.B) {
	data := []byte(siuS12)
	paths := []Path{MustParsePath("SCH-1.1"), MustParsePath("SCH-11.4"), MustParsePath("SCH-25.1"),
		MustParsePath("PID-3[1].1"), MustParsePath("PID-5[1].1"), MustParsePath("AIP-3.1"),
		MustParsePath("AIL-3.4"), MustParsePath("NTE[2]-3")}
	b.ReportAllocs()
	for b.Loop() {
		m, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range paths {
			if _, _, err := m.Lookup(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
