package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/inbound"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/sftptest"
)

// The speed of the tuOtempO file loop (issue 4, "Speed"): N stored
// Appointments exported to one file on the in-process SFTP server, and an
// N-row cancellation file from it applied back, each with its rows/s and
// peak memory. FHIRBRIDGE_BENCH_ROWS sets N, or several N separated by
// commas to compare the peaks (memory must stay flat):
//
//	FHIRBRIDGE_BENCH_ROWS=100000,1000000 go test ./cmd/fhirbridge -run TestTuotempoSpeed -v -timeout 2h
//
// Without it TestTuotempoSpeed runs 2,000 rows in a few seconds.
// FHIRBRIDGE_BENCH_PROFILE names a folder that gets, per phase, a CPU
// profile and a heap profile taken at the phase's peak heap.
const (
	benchRowsEnv    = "FHIRBRIDGE_BENCH_ROWS"
	benchProfileEnv = "FHIRBRIDGE_BENCH_PROFILE"
)

// benchAt is the export time; the stored Appointments start inside its
// default window (24 h past to 72 h ahead).
var benchAt = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// benchRows returns the sizes of benchRowsEnv, or def when it is unset.
func benchRows(t testing.TB, def int) []int {
	s := os.Getenv(benchRowsEnv)
	if s == "" {
		return []int{def}
	}
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n <= 0 {
			t.Fatalf("%s=%q: want positive row counts separated by commas", benchRowsEnv, s)
		}
		ns = append(ns, n)
	}
	return ns
}

func TestTuotempoSpeed(t *testing.T) {
	var peaks []float64
	sizes := benchRows(t, 2000)
	for _, n := range sizes {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			b := newBench(t, n)
			ex := b.export(t, "")
			t.Logf("export n=%d: %s", n, ex.String(n))
			im := b.cancel(t, "cancellations_1.csv", "CANCELLED by USER", 0)
			t.Logf("import n=%d: %s", n, im.String(n))
			b.checkCancelled(t, n)
			peaks = append(peaks, max(ex.PeakHeapInuse, im.PeakHeapInuse))
		})
	}
	// Flat: ten times the rows must not take anywhere near ten times the
	// heap. Only sizes big enough to dwarf the fixed costs are compared.
	for i := 1; i < len(peaks) && sizes[0] >= 50_000; i++ {
		t.Logf("peak heap %d rows / %d rows: %.2f", sizes[i], sizes[0], peaks[i]/peaks[0])
		if sizes[i] >= 5*sizes[0] && peaks[i] > 2*peaks[0] {
			t.Errorf("peak heap grows with the rows: %.0f MB at %d, %.0f MB at %d", peaks[0]/(1<<20), sizes[0], peaks[i]/(1<<20), sizes[i])
		}
	}
}

// BenchmarkTuotempoExport exports the stored Appointments (first size of
// FHIRBRIDGE_BENCH_ROWS, default 10,000) b.N times.
func BenchmarkTuotempoExport(b *testing.B) {
	n := benchRows(b, 10_000)[0]
	bb := newBench(b, n)
	var all phase
	b.ResetTimer()
	for i := range b.N {
		p := bb.export(b, fmt.Sprintf("appointments_%d.csv", i))
		all.add(p)
	}
	b.StopTimer()
	all.report(b, n)
}

// BenchmarkTuotempoImport applies an n-row file b.N times, cancelling and
// re-booking every Appointment in turn so that each file changes them all.
func BenchmarkTuotempoImport(b *testing.B) {
	n := benchRows(b, 10_000)[0]
	bb := newBench(b, n)
	var all phase
	b.ResetTimer()
	for i := range b.N {
		status := "CANCELLED by USER"
		if i%2 == 1 {
			status = "APPROVED"
		}
		p := bb.cancel(b, fmt.Sprintf("cancellations_%d.csv", i), status, i)
		all.add(p)
	}
	b.StopTimer()
	all.report(b, n)
}

// bench is a store filled with n Appointments, an in-process SFTP server
// and the jobs of a site that exports to it and polls it.
type bench struct {
	n      int
	st     *store.Store
	srv    *sftptest.Server
	tmp    string
	spec   export.Spec
	poller *inbound.Poller
}

func newBench(t testing.TB, n int) *bench {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := &bench{n: n, st: st, srv: sftptest.NewServer(t), tmp: t.TempDir()}
	start := time.Now()
	fillStore(t, st, n)
	t.Logf("fill n=%d: %d Patients + %d Appointments stored in %v (%.0f resources/s)", n, n, n,
		time.Since(start).Round(time.Millisecond), float64(2*n)/time.Since(start).Seconds())
	params := map[string]string{"timezone": "Europe/Madrid"}
	m, err := export.LoadMapping("tuotempo/export", params)
	if err != nil {
		t.Fatal(err)
	}
	b.spec = export.Spec{Name: "daily", Mapping: m, Params: params, Format: export.Format{Delimiter: ';', CRLF: true}}
	cm, err := bridge.LoadMapping("tuotempo/cancellation", nil)
	if err != nil {
		t.Fatal(err)
	}
	// a clock an hour ahead: the second poll finds the file unchanged and
	// old enough, without sleeping
	now := func() time.Time { return time.Now().Add(time.Hour) }
	b.poller, err = inbound.New(ctx, st, inbound.Spec{Name: "cancels", Pattern: "cancellations_*.csv", MinAge: time.Millisecond,
		Mapping: cm, MaxFileSize: 1 << 40}, inbound.Options{Now: now, TempDir: b.tmp})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fillStore stores n Patients and n Appointments (with 200 Practitioners
// and 20 Locations they share) in transactions of 5,000 of each, straight
// into the store: ingest's validation and routing are not measured here.
func fillStore(t testing.TB, st *store.Store, n int) {
	t.Helper()
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
		t.Fatal(err)
	}
	first := benchAt.Add(-20 * time.Hour)
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				if err := put(tx, "Patient", fmt.Sprintf("pat-%d", i), fmt.Sprintf(`{"resourceType":"Patient","id":"pat-%d","name":[{"family":"Apellido%d","given":["Nombre"]}],"telecom":[{"system":"phone","value":"+34 600 %06d","use":"mobile"},{"system":"email","value":"p%d@example.org"}]}`, i, i, i%1_000_000, i)); err != nil {
					return err
				}
				// starts every minute over 90 h, inside the window
				start := first.Add(time.Duration(i%(90*60)) * time.Minute).Format(time.RFC3339)
				if err := put(tx, "Appointment", apptID(i), fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"booked","start":%q,"participant":[{"actor":{"reference":"Patient/pat-%d"},"status":"accepted"},{"actor":{"reference":"Practitioner/prac-%d"},"status":"accepted"},{"actor":{"reference":"Location/loc-%d"},"status":"accepted"}]}`, apptID(i), start, i, i%200, i%20)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func apptID(i int) string { return fmt.Sprintf("appt-%07d", i) }

// export runs one export (file named by name, or the default pattern when
// "") to the SFTP server and checks the uploaded file has n data rows.
func (b *bench) export(t testing.TB, name string) phase {
	t.Helper()
	ctx := context.Background()
	remote, err := connectors.OpenRemote(ctx, b.srv.RemoteConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	spec := b.spec
	spec.NamePattern = name
	var res export.Result
	p := measure("export", func() {
		res, err = export.Run(ctx, b.st, remote, spec, benchAt, export.RunOptions{TempDir: b.tmp})
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != b.n || res.RefusedCount != 0 {
		t.Fatalf("export: %d rows, %d refused; want %d rows", res.Rows, res.RefusedCount, b.n)
	}
	if lines := countLines(t, filepath.Join(b.srv.Dir, res.File)); lines != b.n+1 {
		t.Fatalf("uploaded %s has %d lines, want a header and %d rows", res.File, lines, b.n)
	}
	p.Rows, p.Bytes = b.n, res.Size
	return p
}

// cancel writes an n-row cancellation file with status for every
// Appointment to the server's folder (round makes its content unique, so
// that it is not refused as a duplicate), polls until it is processed, and
// checks that every row applied and the file moved to processed/.
func (b *bench) cancel(t testing.TB, name, status string, round int) phase {
	t.Helper()
	ctx := context.Background()
	size := writeCancellations(t, filepath.Join(b.srv.Dir, name), b.n, status, round)
	remote, err := connectors.OpenRemote(ctx, b.srv.RemoteConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	var fr *inbound.FileReport
	p := measure("import", func() {
		for poll := 0; poll < 3 && fr == nil; poll++ {
			var rep inbound.Report
			rep, err = b.poller.Poll(ctx, remote)
			if err != nil {
				return
			}
			for i := range rep.Files {
				if rep.Files[i].Path == name {
					fr = &rep.Files[i]
				}
			}
		}
	})
	switch {
	case err != nil:
		t.Fatal(err)
	case fr == nil:
		t.Fatalf("%s not processed after three polls", name)
	case fr.Err != nil:
		t.Fatalf("%s: %v", name, fr.Err)
	case fr.RowsOK != b.n || fr.RowsFailed != 0 || fr.Updated != b.n:
		t.Fatalf("%s: %d rows ok, %d failed, %d updated; want %d ok and updated", name, fr.RowsOK, fr.RowsFailed, fr.Updated, b.n)
	}
	if _, err := os.Stat(filepath.Join(b.srv.Dir, "processed", name)); err != nil {
		t.Fatalf("%s not in processed/: %v", name, err)
	}
	p.Rows, p.Bytes = b.n, size
	return p
}

// writeCancellations writes the file of A.1.2.1 (';', CRLF) with one row
// per stored Appointment; one row in ten is cancelled by the centre
// rather than the patient when status is "CANCELLED by USER". round goes
// into the e-mail column, which the mapping does not read back.
func writeCancellations(t testing.TB, path string, n int, status string, round int) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	fmt.Fprint(w, "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS\r\n")
	for i := range n {
		st := status
		if st == "CANCELLED by USER" && i%10 == 9 {
			st = "CANCELLED by ADMIN"
		}
		fmt.Fprintf(w, "%s;;+34600%06d;p%d.%d@example.org;prac-%d;%s\r\n", apptID(i), i%1_000_000, i, round, i%200, st)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	info, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// checkCancelled counts the stored Appointments whose status is cancelled.
func (b *bench) checkCancelled(t testing.TB, want int) {
	t.Helper()
	got := 0
	err := b.st.Current(context.Background(), "Appointment", func(_ string, _ int, body []byte) error {
		var a struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body, &a); err != nil {
			return err
		}
		if a.Status == "cancelled" {
			got++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%d Appointments cancelled, want %d", got, want)
	}
}

// countLines counts the CRLF-ended lines of a file, reading it in pieces.
func countLines(t testing.TB, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	lines := 0
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			lines++
		}
		if err == io.EOF {
			return lines
		}
		if err != nil && err != bufio.ErrBufferFull {
			t.Fatal(err)
		}
		if err == bufio.ErrBufferFull {
			lines-- // the same line goes on
		}
	}
}

// phase is what one measured phase took.
type phase struct {
	Rows     int
	Bytes    int64
	Duration time.Duration
	// PeakHeapInuse and PeakSys are the largest runtime.MemStats
	// HeapInuse and Sys sampled every 50 ms; BaseHeapInuse is HeapInuse
	// after a GC just before the phase.
	PeakHeapInuse, PeakSys, BaseHeapInuse float64
	// VmHWM is the process's peak resident set (/proc/self/status) at the
	// end of the phase, reset at its start when the kernel allows it
	// (HWMReset); otherwise it is the peak since the process started.
	VmHWM    float64
	HWMReset bool
}

// measure runs fn, sampling the Go heap every 50 ms.
func measure(name string, fn func()) phase {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := phase{BaseHeapInuse: float64(ms.HeapInuse)}
	// "5" resets the peak RSS (VmHWM) to the current RSS (proc(5))
	p.HWMReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	prof := os.Getenv(benchProfileEnv)
	var profiled float64 // the heap when the last heap profile was written
	var mu sync.Mutex
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		defer mu.Unlock()
		p.PeakHeapInuse = max(p.PeakHeapInuse, float64(ms.HeapInuse))
		p.PeakSys = max(p.PeakSys, float64(ms.Sys))
		if prof != "" && float64(ms.HeapInuse) > 1.2*profiled {
			profiled = float64(ms.HeapInuse)
			writeProfile(filepath.Join(prof, name+".heap"), pprof.Lookup("heap").WriteTo)
		}
	}
	if prof != "" {
		f, err := os.Create(filepath.Join(prof, name+".cpu"))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	start := time.Now()
	fn()
	p.Duration = time.Since(start)
	close(stop)
	<-done
	sample()
	p.VmHWM = vmHWM()
	return p
}

// writeProfile writes a profile to path, ignoring failures (profiles are
// a diagnostic aid of the benchmark, not part of it).
func writeProfile(path string, write func(io.Writer, int) error) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	_ = write(f, 0)
	f.Close()
}

// vmHWM returns the process's peak resident set in bytes, 0 when unknown.
func vmHWM() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) * 1024
		}
	}
	return 0
}

// add folds q (one iteration of a benchmark) into p.
func (p *phase) add(q phase) {
	p.Rows += q.Rows
	p.Bytes += q.Bytes
	p.Duration += q.Duration
	p.PeakHeapInuse, p.PeakSys, p.VmHWM = max(p.PeakHeapInuse, q.PeakHeapInuse), max(p.PeakSys, q.PeakSys), max(p.VmHWM, q.VmHWM)
	p.HWMReset, p.BaseHeapInuse = q.HWMReset, max(p.BaseHeapInuse, q.BaseHeapInuse)
}

// report gives a benchmark's figures.
func (p phase) report(b *testing.B, n int) {
	b.ReportMetric(float64(p.Rows)/p.Duration.Seconds(), "rows/s")
	b.ReportMetric(p.PeakHeapInuse/(1<<20), "peak-heap-MB")
	b.ReportMetric(p.PeakSys/(1<<20), "peak-sys-MB")
	b.ReportMetric(p.VmHWM/(1<<20), "VmHWM-MB")
	b.Logf("n=%d: %s", n, p.String(p.Rows))
}

// String gives the figures of a phase of n rows on one line.
func (p phase) String(n int) string {
	hwm := fmt.Sprintf("VmHWM %.0f MB", p.VmHWM/(1<<20))
	if !p.HWMReset {
		hwm += " (since the process started)"
	}
	return fmt.Sprintf("%d rows in %v = %.0f rows/s (%.1f MB file); peak HeapInuse %.1f MB (%.1f MB before), peak Sys %.1f MB, %s",
		n, p.Duration.Round(time.Millisecond), float64(n)/p.Duration.Seconds(), float64(p.Bytes)/(1<<20),
		p.PeakHeapInuse/(1<<20), p.BaseHeapInuse/(1<<20), p.PeakSys/(1<<20), hwm)
}
