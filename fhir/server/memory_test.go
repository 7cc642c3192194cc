package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// peakRSSLimit is the bound on the peak resident memory of the endpoint
// under peakClients concurrent worst-case bodies (README, "Limits").
const (
	peakRSSLimit = 512 << 20
	peakClients  = 8
)

// peakChildEnv makes the test binary run as the measured child process.
const peakChildEnv = "FHIRBRIDGE_PEAK_RSS_CHILD"

// worstBodies are the costliest bodies within the default caps found, plus
// the body of the issue, each as sent (gzip):
//   - "many values": 650,000 array elements in 9.75 MB (19 KB gzipped),
//     refused at DefaultMaxArray;
//   - "bad values": 9,000 names of 19 invalid given names each (~190,000
//     values, under DefaultMaxElements), which decode and then fail
//     validation value by value, the most expensive path of the validator;
//   - "valid values": the same shape with valid strings, validated in full.
func worstBodies() map[string]string {
	names := func(n int, item string) string {
		return `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient","name":[` +
			strings.TrimSuffix(strings.Repeat(item+",", n), ",") +
			`]},"request":{"method":"POST","url":"Patient"}}]}`
	}
	given := func(v string) string {
		return `{"family":"x","given":[` + strings.TrimSuffix(strings.Repeat(v+",", 19), ",") + `]}`
	}
	return map[string]string{
		"many values":  names(650_000, `{"family":"x"}`),
		"bad values":   names(9_000, given(`1`)),
		"valid values": names(9_000, given(`"a"`)),
	}
}

// TestPeakRSS runs the endpoint in a fresh process (this test binary again)
// with the default Options, posts peakClients worst-case bodies at once for
// each of worstBodies, and checks the peak resident memory of that process
// (VmHWM) stays under peakRSSLimit. The child stops as soon as it passes
// the limit, so that a regression fails fast.
func TestPeakRSS(t *testing.T) {
	if os.Getenv(peakChildEnv) == "1" {
		peakChild(t)
		return
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status (Linux) to read the peak RSS")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakRSS$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), peakChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	m := regexp.MustCompile(`peak RSS: (\d+) bytes`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("child failed (%v) without a measurement:\n%s", err, out)
	}
	peak, _ := strconv.ParseInt(string(m[1]), 10, 64)
	t.Logf("peak RSS under %d concurrent worst-case bodies: %d MB (limit %d MB)",
		peakClients, peak>>20, peakRSSLimit>>20)
	if peak >= peakRSSLimit {
		t.Fatalf("peak RSS %d MB, want under %d MB:\n%s", peak>>20, peakRSSLimit>>20, out)
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// peakChild is the measured process.
func peakChild(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	go func() { // fail fast once over the limit
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if hwm, err := vmHWM(); err == nil && hwm >= peakRSSLimit {
				fmt.Printf("peak RSS: %d bytes\n", hwm)
				os.Exit(1)
			}
		}
	}()
	fb := newFake()
	fb.lean = true
	srv := httptest.NewServer(New(fb, Options{Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	for name, body := range worstBodies() {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write([]byte(body))
		_ = zw.Close()
		t.Logf("%s: %d bytes, %d gzipped", name, len(body), gz.Len())
		statuses := make([]int, peakClients)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", srv.URL+"/fhir", bytes.NewReader(gz.Bytes()))
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("Content-Encoding", "gzip")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				statuses[i] = resp.StatusCode
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					t.Errorf("%s: 503 without Retry-After", name)
				}
			})
		}
		wg.Wait()
		t.Logf("%s: statuses %v", name, statuses)
		served := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK, http.StatusRequestEntityTooLarge:
				served++
			case http.StatusServiceUnavailable:
			default:
				t.Errorf("%s: status %d", name, s)
			}
		}
		if served == 0 {
			t.Errorf("%s: every request was turned away", name)
		}
	}
	hwm, err := vmHWM()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("peak RSS: %d bytes\n", hwm)
}

// vmHWM reads the peak resident set size of this process.
func vmHWM() (int64, error) {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading the peak RSS: %w", err)
	}
	for l := range strings.SplitSeq(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading the peak RSS: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("reading the peak RSS: no VmHWM in /proc/self/status")
}

func TestBodyCaps(t *testing.T) {
	names := func(n int) string {
		return `{"resourceType":"Patient","name":[` +
			strings.TrimSuffix(strings.Repeat(`{"family":"`+canaryName+`"},`, n), ",") + `]}`
	}
	tests := []struct {
		name, path, body string
		opt              Options
		wantStatus       int
		wantExpr         string // issue expression of a refusal
		wantReason       string // counted rejection reason
	}{
		{"elements under cap", "/fhir/Patient", names(5), Options{MaxElements: 13}, http.StatusCreated, "", ""},
		{"elements over cap", "/fhir/Patient", names(6), Options{MaxElements: 13}, http.StatusRequestEntityTooLarge,
			"Patient.name[5]", reasonTooComplex},
		{"array under cap", "/fhir/Patient", names(5), Options{MaxArray: 5}, http.StatusCreated, "", ""},
		{"array over cap", "/fhir/Patient", names(6), Options{MaxArray: 5}, http.StatusRequestEntityTooLarge,
			"Patient.name[5]", reasonTooComplex},
		{"bundle over cap", "/fhir", transactionN(4), Options{MaxElements: 40}, http.StatusRequestEntityTooLarge,
			"Bundle.entry[2].resource.name", reasonTooComplex},
		{"update over cap", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1","name":[{},{},{}]}`,
			Options{MaxArray: 2}, http.StatusRequestEntityTooLarge, "Patient.name[2]", reasonTooComplex},
		{"default caps: the issue's body", "/fhir", worstBodies()["many values"], Options{}, http.StatusRequestEntityTooLarge,
			"Bundle.entry[0].resource.name[10000]", reasonTooComplex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opt)
			method := "POST"
			if strings.Count(tt.path, "/") == 3 {
				method = "PUT"
			}
			w := e.do(method, tt.path, strings.NewReader(tt.body))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantExpr == "" {
				return
			}
			oo := mustOutcome(t, w.Body.Bytes())
			is := oo.Issue[0]
			if is.Code != "too-costly" || len(is.Expression) != 1 || is.Expression[0] != tt.wantExpr ||
				!strings.Contains(is.Diagnostics, "line 1 col ") {
				t.Errorf("issue %+v, want too-costly at %s with line and column", is, tt.wantExpr)
			}
			if strings.Contains(w.Body.String(), canaryName) {
				t.Errorf("the refusal quotes a value: %s", w.Body)
			}
			if got := e.rejected(tt.wantReason); got != 1 {
				t.Errorf("rejected{reason=%q} = %v, want 1", tt.wantReason, got)
			}
			if e.fb.commitCount() != 0 {
				t.Errorf("committed")
			}
		})
	}
}

func TestDecodeSlots(t *testing.T) {
	tests := []struct {
		name       string
		path, body string
		held       int // slots taken before the request
		release    bool
		wantStatus int
	}{
		{"free slot", "/fhir/Patient", patient, 1, false, http.StatusCreated},
		{"all busy: create", "/fhir/Patient", patient, 2, false, http.StatusServiceUnavailable},
		{"all busy: bundle", "/fhir", transactionN(2), 2, false, http.StatusServiceUnavailable},
		{"all busy: update", "/fhir/Patient/p1", `{"resourceType":"Patient","id":"p1"}`, 2, false, http.StatusServiceUnavailable},
		{"freed while waiting", "/fhir", transactionN(2), 2, true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{MaxDecodes: 2, DecodeWait: 200 * time.Millisecond})
			h := e.h.(*handler)
			for range tt.held {
				h.decodes <- struct{}{}
			}
			if tt.release {
				time.AfterFunc(20*time.Millisecond, func() { <-h.decodes })
			}
			method := "POST"
			if strings.Count(tt.path, "/") == 3 {
				method = "PUT"
			}
			start := time.Now()
			w := e.do(method, tt.path, strings.NewReader(tt.body))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %.300s", w.Code, tt.wantStatus, w.Body)
			}
			if w.Code == http.StatusServiceUnavailable {
				mustOutcome(t, w.Body.Bytes())
				if w.Header().Get("Retry-After") == "" {
					t.Errorf("503 without Retry-After")
				}
				if d := time.Since(start); d < 200*time.Millisecond {
					t.Errorf("answered 503 after %v, before DecodeWait", d)
				}
				if e.rejected(reasonBusy) != 1 || e.fb.commitCount() != 0 {
					t.Errorf("rejected %v, commits %d", e.rejected(reasonBusy), e.fb.commitCount())
				}
			}
			// the request gives its slot back, whatever the outcome
			want := tt.held
			if tt.release {
				want--
			}
			if len(h.decodes) != want {
				t.Errorf("%d slots held after the request, want %d", len(h.decodes), want)
			}
		})
	}
}
