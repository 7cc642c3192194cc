//go:build linux

package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procKB reads a field in kB (VmHWM, VmRSS) of /proc/PID/status.
func procKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
			}
			return kb, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// TestSizingMemoryPerRequest measures the peak resident memory of the
// serve binary (VmHWM) under 1, 16 and 64 concurrent clients, each
// posting the 10-entry transaction Bundles of BenchmarkServeTransactions
// for FHIRBRIDGE_SIZING_SECONDS (default 5) to a fresh process on a fresh
// SQLite store, and reports the bytes each extra concurrent request costs
// (the least-squares slope over the three levels). A measurement, not a
// check: it runs only with FHIRBRIDGE_SIZING=1.
//
//	FHIRBRIDGE_SIZING=1 go test ./cmd/fhirbridge -run TestSizingMemoryPerRequest -count=1 -v
func TestSizingMemoryPerRequest(t *testing.T) {
	if testing.Short() || os.Getenv("FHIRBRIDGE_SIZING") != "1" {
		t.Skip("a measurement: set FHIRBRIDGE_SIZING=1")
	}
	seconds := 5
	if s := os.Getenv("FHIRBRIDGE_SIZING_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("FHIRBRIDGE_SIZING_SECONDS=%q: want a whole number of seconds, at least 1", s)
		}
		seconds = n
	}
	bin := buildBinary(t)
	levels := []int{1, 16, 64}
	var xs, ys []float64
	for _, c := range levels {
		dir := t.TempDir()
		p := startServeProc(t, bin, dir, "data_dir: "+filepath.Join(dir, "data")+"\n")
		pid := p.Cmd.Process.Pid
		tr := &http.Transport{MaxIdleConns: 2 * c, MaxIdleConnsPerHost: 2 * c, DisableCompression: true}
		s := &benchServer{base: p.Base, client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
		// Warm up on one client: the store's caches, the pools.
		for range 20 {
			if err := s.post(benchBundle(bundleSeq.Add(1))); err != nil {
				t.Fatal(err)
			}
		}
		idle, err := procKB(pid, "VmHWM")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var posted int
		var failure error
		end := time.Now().Add(time.Duration(seconds) * time.Second)
		for range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := 0
				for time.Now().Before(end) {
					if err := s.post(benchBundle(bundleSeq.Add(1))); err != nil {
						mu.Lock()
						failure = err
						mu.Unlock()
						return
					}
					n++
				}
				mu.Lock()
				posted += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if failure != nil {
			t.Fatalf("%d clients: %v", c, failure)
		}
		peak, err := procKB(pid, "VmHWM")
		if err != nil {
			t.Fatal(err)
		}
		tr.CloseIdleConnections()
		p.Stop(t)
		t.Logf("%2d clients: peak RSS (VmHWM) %6.1f MiB (%6.1f MiB after warm-up), %d Bundles in %d s (%.0f/s)",
			c, float64(peak)/1024, float64(idle)/1024, posted, seconds, float64(posted)/float64(seconds))
		xs = append(xs, float64(c))
		ys = append(ys, float64(peak)*1024)
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i] / float64(len(xs))
		my += ys[i] / float64(len(ys))
	}
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	t.Logf("peak RSS per extra concurrent request: %.0f KiB (least-squares slope over %v clients); 1→64 clients: %.0f KiB per client",
		sxy/sxx/1024, levels, (ys[len(ys)-1]-ys[0])/float64(levels[len(levels)-1]-levels[0])/1024)
}
