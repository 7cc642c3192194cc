package mapjob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ndjsonPipe streams n generated Patients into a pipe; nothing of the
// input is held beyond one line. stop ends the writer early. lineSize is
// the approximate size of one line.
func ndjsonPipe(n int, pad int) (r *io.PipeReader, stop func()) {
	pr, pw := io.Pipe()
	padding := strings.Repeat("x", pad)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 0, pad+200)
		for i := 0; i < n; i++ {
			buf = fmt.Appendf(buf[:0], `{"resourceType":"Patient","id":"p%d","name":[{"family":"Fam%d","text":"%s"}]}`+"\n", i, i, padding)
			if _, err := pw.Write(buf); err != nil {
				return
			}
		}
		pw.Close()
	}()
	return pr, func() { pr.CloseWithError(errors.New("stopped")); <-done }
}

// settleGoroutines waits up to a second for the goroutine count to come
// back to base (the test's own helpers excepted).
func settleGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines a second after Run returned, %d before:\n%s", n, base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// 7. Memory stays flat however long the input: ~60 MB streamed through a
// pipe, the heap sampled every 20 ms.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 60 MB")
	}
	const (
		pad   = 900
		lines = 60 << 20 / (pad + 80)
		bound = 64 << 20
	)
	m := parse(t, patientIDs)
	in, _ := ndjsonPipe(lines, pad)
	// a low GC target makes HeapInuse follow the live heap, not garbage
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var read atomic.Int64
	st, err := Run(context.Background(), Options{Mapping: m, In: in, Out: io.Discard, Format: NDJSON, Workers: 4,
		OnProgress: func(n int64) { read.Store(n) }})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != lines {
		t.Fatalf("wrote %d of %d", st.Written, lines)
	}
	if read.Load() < 55<<20 {
		t.Errorf("progress reported %d bytes, want the ~60 MB read", read.Load())
	}
	t.Logf("%d lines, %d MB, peak HeapInuse %.1f MB", lines, read.Load()>>20, float64(peak.Load())/(1<<20))
	if peak.Load() > bound {
		t.Errorf("peak HeapInuse %.1f MB over %d MB: is the input buffered?", float64(peak.Load())/(1<<20), bound>>20)
	}
}

// failingWriter fails every write after n bytes.
type failingWriter struct {
	n   int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// 8. A failing writer stops the run with its error, promptly and without
// leaking goroutines.
func TestWriteError(t *testing.T) {
	m := parse(t, patientIDs)
	errDisk := errors.New("disk full")
	tests := []struct {
		name  string
		after int
		lines int // of a generated, piped input; 0 = a small in-memory input
	}{
		{"at once on a long stream", 0, 1_000_000},
		{"after 3 MB of a long stream", 3 << 20, 1_000_000},
		{"at the final flush", 10, 0},
	}
	for _, tc := range tests {
		for _, format := range []Format{NDJSON, JSON} {
			t.Run(fmt.Sprintf("%s/%s", tc.name, format), func(t *testing.T) {
				base := runtime.NumGoroutine()
				var in io.Reader = strings.NewReader(patient("a") + "\n" + patient("b") + "\n")
				stopInput := func() {}
				if tc.lines > 0 {
					in, stopInput = ndjsonPipe(tc.lines, 100)
				}
				start := time.Now()
				st, err := Run(context.Background(), Options{Mapping: m, In: in, Out: &failingWriter{n: tc.after, err: errDisk}, Format: format, Workers: 4})
				elapsed := time.Since(start)
				stopInput()
				if !errors.Is(err, errDisk) {
					t.Fatalf("Run error = %v, want the writer's error", err)
				}
				if errors.Is(err, ErrRecordsFailed) {
					t.Errorf("a write error reported as failed records: %v", err)
				}
				if tc.lines > 0 && st.Read >= tc.lines {
					t.Errorf("read the whole input (%d records) after the writer failed", st.Read)
				}
				// generous: under -race on a loaded 2-core machine mapping the
				// first 3 MB alone takes seconds; a hang would take minutes
				if elapsed > 30*time.Second {
					t.Errorf("Run took %v to give up", elapsed)
				}
				settleGoroutines(t, base)
			})
		}
	}
}

// 10. Cancelling the context stops a run promptly with context.Canceled.
func TestCancel(t *testing.T) {
	m := parse(t, patientIDs)
	tests := []struct {
		name string
		in   func() (io.Reader, func())
	}{
		{"streamed ndjson", func() (io.Reader, func()) { return ndjsonPipe(10_000_000, 100) }},
		{"in memory ndjson", func() (io.Reader, func()) {
			var b bytes.Buffer
			for i := 0; i < 200_000; i++ {
				b.WriteString(patient(fmt.Sprint(i)) + "\n")
			}
			return &b, func() {}
		}},
		{"reverse csv", func() (io.Reader, func()) {
			pr, pw := io.Pipe()
			go func() {
				pw.Write([]byte(cancellationHeader + "\n"))
				for i := 0; ; i++ {
					if _, err := fmt.Fprintf(pw, "appt-%d;;;;prac-1;APPROVED\n", i); err != nil {
						return
					}
				}
			}()
			return pr, func() { pr.Close() }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mm := m
			if strings.HasPrefix(tc.name, "reverse") {
				mm = shippedMapping(t, "tuotempo/cancellation", nil)
			}
			base := runtime.NumGoroutine()
			in, stopInput := tc.in()
			ctx, cancel := context.WithCancel(context.Background())
			var once sync.Once
			var cancelledAt time.Time
			opt := Options{Mapping: mm, In: in, Out: io.Discard, Format: NDJSON, Workers: 4,
				OnProgress: func(n int64) {
					if n > 1<<20 {
						once.Do(func() { cancelledAt = time.Now(); cancel() })
					}
				}}
			st, err := Run(ctx, opt)
			returned := time.Now()
			stopInput()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run error = %v (stats %+v), want context.Canceled", err, st)
			}
			if cancelledAt.IsZero() {
				t.Fatal("never cancelled")
			}
			if d := returned.Sub(cancelledAt); d > 2*time.Second {
				t.Errorf("Run returned %v after the cancellation", d)
			}
			settleGoroutines(t, base)
		})
	}
	t.Run("cancelled before the start", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var b strings.Builder
		for i := 0; i < 5000; i++ {
			b.WriteString(patient(fmt.Sprint(i)) + "\n")
		}
		_, err := Run(ctx, Options{Mapping: m, In: strings.NewReader(b.String()), Out: io.Discard})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", err)
		}
	})
}

// OnProgress is called with a growing byte count that reaches the input size.
func TestProgress(t *testing.T) {
	m := parse(t, patientIDs)
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		b.WriteString(patient(fmt.Sprint(i)) + "\n")
	}
	var calls []int64
	_, err := Run(context.Background(), Options{Mapping: m, In: strings.NewReader(b.String()), Out: io.Discard, Workers: 4,
		OnProgress: func(n int64) { calls = append(calls, n) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 {
		t.Fatalf("OnProgress called %d times", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if calls[i] < calls[i-1] {
			t.Errorf("progress went back: %v", calls)
			break
		}
	}
	if last := calls[len(calls)-1]; last != int64(b.Len()) {
		t.Errorf("last progress %d, want %d", last, b.Len())
	}
}
