package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

func shippedMapping(t testing.TB) *mapping.Mapping {
	t.Helper()
	p, _ := shipped.Path("solo/encounter-report")
	m, err := mapping.Load(shipped.FS, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func simReport(t testing.TB, days, perDay int) string {
	var b bytes.Buffer
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := solosim.WriteReport(&b, from, from.AddDate(0, 0, days-1), perDay); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestRunNDJSON(t *testing.T) {
	csv := simReport(t, 2, 10)
	var out bytes.Buffer
	sink := NewNDJSON(&out)
	sum, err := Run(context.Background(), Options{Mapping: shippedMapping(t), In: strings.NewReader(csv), Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	sink.Close()
	if sum.Read != 20 || sum.Mapped != 20 || sum.Refused != 0 || sum.Resources["Encounter"] != 20 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.Resources["Patient"]+sum.PatientsRepeated != 20 {
		t.Errorf("patients %+v", sum)
	}
	if len(sum.ByDay) != 2 || sum.ByDay["2026-03-01"] != 10 {
		t.Errorf("by day %v", sum.ByDay)
	}
	lines := strings.Count(out.String(), "\n")
	if lines != 20+sum.Resources["Patient"] {
		t.Errorf("%d lines", lines)
	}
}

func TestRunRefusesRowsByLine(t *testing.T) {
	csv := simReport(t, 1, 3)
	lines := strings.Split(csv, "\r\n")
	lines[2] = strings.Replace(lines[2], "completed", "bogus", 1)
	lines[2] = strings.Replace(lines[2], "sign off", "bogus", 1)
	lines[3] = "only,three,fields"
	var out bytes.Buffer
	sum, err := Run(context.Background(), Options{Mapping: shippedMapping(t), In: strings.NewReader(strings.Join(lines, "\r\n")), Sink: NewNDJSON(&out)})
	if !errors.Is(err, ErrRowsRefused) {
		t.Fatalf("err %v", err)
	}
	if sum.Refused != 2 || sum.Mapped != 1 || len(sum.Listed) != 2 || sum.Listed[0].Line != 3 || sum.Listed[1].Line != 4 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestRunRefusesColumns(t *testing.T) {
	csv := "appointmentId,status,Patient Name,date\n1,completed,x,2026-01-01T00:00:00Z\n"
	var out bytes.Buffer
	sink := &countSink{}
	_, err := Run(context.Background(), Options{Mapping: shippedMapping(t), In: strings.NewReader(csv), Sink: sink})
	var ce *ColumnError
	if !errors.As(err, &ce) || !errors.Is(err, ErrColumns) {
		t.Fatalf("err %v", err)
	}
	if len(ce.Unexpected) != 1 || ce.Unexpected[0] != "Patient Name" || len(ce.Missing) != 15 {
		t.Fatalf("%+v", ce)
	}
	msg := err.Error()
	for _, want := range []string{`missing 15: "externalId", "duration"`, `unexpected 1: "Patient Name"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if sink.n != 0 || out.Len() != 0 {
		t.Error("rows applied despite the refusal")
	}
}

type countSink struct{ n int }

func (c *countSink) Put(context.Context, *fhir.Value) error { c.n++; return nil }
func (c *countSink) Close() error                           { return nil }

// TestImportFlatMemory imports FHIRBRIDGE_BENCH_ROWS rows (default 20000)
// generated on the fly through an io.Pipe, sampling the heap, and reports
// rows/s and the peak heap. Run the 1,000,000-row case with
//
//	FHIRBRIDGE_BENCH_ROWS=1000000 go test ./batch/report -run TestImportFlatMemory -v
func TestImportFlatMemory(t *testing.T) {
	rows := 20000
	if v := os.Getenv("FHIRBRIDGE_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			t.Fatalf("FHIRBRIDGE_BENCH_ROWS=%q: want a number ≥ 1000", v)
		}
		rows = n
	}
	const perDay = 1000
	days := rows / perDay
	pr, pw := io.Pipe()
	var produced atomic.Int64
	go func() {
		from := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		cw := &countWriter{w: pw, n: &produced}
		pw.CloseWithError(solosim.WriteReport(cw, from, from.AddDate(0, 0, days-1), perDay))
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	start := time.Now()
	sink := NewNDJSON(io.Discard)
	sum, err := Run(context.Background(), Options{Mapping: shippedMapping(t), In: pr, Sink: sink})
	elapsed := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != days*perDay || sum.Mapped != sum.Read {
		t.Fatalf("summary: read %d mapped %d refused %d", sum.Read, sum.Mapped, sum.Refused)
	}
	mb := float64(peak.Load()) / (1 << 20)
	t.Logf("%d rows (%.0f MB of CSV) in %v: %.0f rows/s; peak heap %.1f MB (heap before %.1f MB); %d Encounters, %d Patients written, %d repeats left out",
		sum.Read, float64(produced.Load())/(1<<20), elapsed.Round(time.Millisecond), float64(sum.Read)/elapsed.Seconds(),
		mb, float64(base.HeapAlloc)/(1<<20), sum.Resources["Encounter"], sum.Resources["Patient"], sum.PatientsRepeated)
	// flat: the bound does not depend on the number of rows
	if mb > 256 {
		t.Errorf("peak heap %.1f MB: memory is not flat", mb)
	}
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
