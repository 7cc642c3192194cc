//go:build unix

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// TestServeDrain stops the real binary with SIGTERM while a delivery
// attempt is at the vendor. The attempt is given the drain time
// (server.drain_timeout) to finish: when the vendor answers within it, the
// process exits 0 once the attempt is done and the job is delivered; when
// the vendor hangs, the process exits 0 at the end of the drain time and
// the job it held is handed back (delivered right after a restart, well
// before its 5-minute lease would have ended). In the hang case a Bundle
// is also half sent at the SIGTERM: it is still answered 200, and new
// connections are refused at once; SIGHUP before that must not stop it.
func TestServeDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	t.Run("hang", func(t *testing.T) { testServeDrainHang(t, bin) })
	t.Run("slow answer", func(t *testing.T) { testServeDrainSlow(t, bin) })
}

// drainServe is a configured serve binary: its start function waits
// until it is ready; output collects what it logs.
type drainServe struct {
	base, cfg string
	env       []string
	output    *syncBuffer
}

// newDrainServe writes the configuration of a bridge delivering Patients
// to the Solo vendor at vendorURL, with drain_timeout drain.
func newDrainServe(t *testing.T, vendorURL string, drain time.Duration) (*drainServe, string) {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	dataDir := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+dataDir+`
server: {listen: "`+addr+`", drain_timeout: `+drain.String()+`}
connectors:
  solo: {base_url: "`+vendorURL+`", api_key: {env: DRAIN_SOLO_KEY}, timeout: 60s}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"DRAIN_SOLO_KEY=k-drain"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FHIRBRIDGE_") {
			env = append(env, kv)
		}
	}
	return &drainServe{base: "http://" + addr, cfg: cfg, env: env, output: &syncBuffer{}}, addr
}

// start runs serve and waits until it is ready; the process is killed
// at the end of the test if still running.
func (s *drainServe) start(t *testing.T, bin string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", s.cfg)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting serve: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve not ready after 20 s; output:\n%s", s.output.String())
	return nil
}

// jobs runs `fhirbridge deliveries list --state state` on the stopped
// bridge's store and returns its output.
func (s *drainServe) jobs(t *testing.T, bin, state string) string {
	t.Helper()
	cmd := exec.Command(bin, "deliveries", "list", "--state", state, "--config", s.cfg)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deliveries list: %v\n%s", err, out)
	}
	return string(out)
}

// postBundle posts crashBundle(n) and wants 200.
func (s *drainServe) postBundle(t *testing.T, n int) {
	t.Helper()
	resp, err := http.Post(s.base+"/fhir", "application/fhir+json", bytes.NewReader(crashBundle(n)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bundle %d: %d", n, resp.StatusCode)
	}
}

// testServeDrainHang: the vendor never answers the attempt in flight at
// the SIGTERM, which is interrupted at the end of the drain time.
func testServeDrainHang(t *testing.T, bin string) {
	sim := solosim.New(solosim.Options{APIKey: "k-drain", WaitingRooms: []string{"General Practice", "Telehealth"}})
	released := make(chan struct{})
	var hold atomic.Bool
	hold.Store(true)
	entered := make(chan struct{}, 1)
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() { // the attempt hangs until the bridge gives up on it
			select {
			case entered <- struct{}{}:
			default:
			}
			select {
			case <-r.Context().Done():
			case <-released:
			}
			return
		}
		sim.ServeHTTP(w, r)
	}))
	defer simSrv.Close()
	defer close(released) // before Close, which waits for the handlers

	const drain = 3 * time.Second
	s, addr := newDrainServe(t, simSrv.URL, drain)
	base, logBuf := s.base, s.output
	cmd := s.start(t, bin)

	// SIGHUP is logged and ignored.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if resp, err := http.Get(base + "/readyz"); err != nil {
		t.Fatalf("serve gone after SIGHUP: %v\n%s", err, logBuf.String())
	} else {
		resp.Body.Close()
	}
	if !strings.Contains(logBuf.String(), "SIGHUP ignored") {
		t.Errorf("no log line for the SIGHUP; output:\n%s", logBuf.String())
	}

	// Bundle 1 is stored; its Patient's delivery hangs at the vendor.
	s.postBundle(t, 1)
	select {
	case <-entered:
	case <-time.After(15 * time.Second):
		t.Fatalf("no delivery attempt reached the vendor; output:\n%s", logBuf.String())
	}

	// Bundle 2 is half sent when SIGTERM arrives.
	body := crashBundle(2)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /fhir HTTP/1.1\r\nHost: %s\r\nContent-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server has read the headers: the request is in flight
	stopped := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("a new connection was accepted while draining")
	}
	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(drain))
	r2, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request not answered: %v\n%s", err, logBuf.String())
	}
	rb, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Fatalf("in-flight bundle: %d %s", r2.StatusCode, rb)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v; output:\n%s", err, logBuf.String())
		}
	case <-time.After(drain + 5*time.Second):
		t.Fatalf("serve still running %s after SIGTERM", drain+5*time.Second)
	}
	// the hung attempt had the whole drain time, and no more (the hand
	// back is a store write)
	took := time.Since(stopped)
	t.Logf("serve stopped %s after SIGTERM (drain_timeout %s, the vendor hangs)", took, drain)
	if took < drain || took > drain+2*time.Second {
		t.Errorf("serve took %s to stop, drain_timeout is %s", took, drain)
	}
	if !strings.Contains(logBuf.String(), "still running at the end of the drain time") {
		t.Errorf("no log line for the interrupted attempt; output:\n%s", logBuf.String())
	}
	if out := s.jobs(t, bin, "in_flight"); strings.Contains(out, "pat-1") {
		t.Errorf("the interrupted job is still in flight:\n%s", out)
	}
	if out := s.jobs(t, bin, "pending"); !strings.Contains(out, "pat-1") || !strings.Contains(out, "pat-2") {
		t.Errorf("want both Patients' jobs pending after the stop:\n%s", out)
	}

	// After a restart both Patients reach the vendor, the interrupted one
	// included, though its lease (5 minutes) has not ended.
	hold.Store(false)
	cmd = s.start(t, bin)
	deadline := time.Now().Add(20 * time.Second)
	for len(sim.Patients()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(sim.Patients()); n != 2 {
		t.Fatalf("vendor has %d patients after the restart, want 2; output:\n%s", n, logBuf.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("second serve exited with %v", err)
	}
}

// testServeDrainSlow: the vendor answers the attempt in flight at the
// SIGTERM after ~2 s, within the drain time: serve waits for it, records
// the delivery and exits 0.
func testServeDrainSlow(t *testing.T, bin string) {
	const answerAfter = 2 * time.Second
	sim := solosim.New(solosim.Options{APIKey: "k-drain", WaitingRooms: []string{"General Practice", "Telehealth"}})
	var slowed atomic.Bool
	entered := make(chan struct{}, 1)
	simSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slowed.CompareAndSwap(false, true) { // the attempt's first call
			entered <- struct{}{}
			select {
			case <-time.After(answerAfter):
			case <-r.Context().Done():
				return
			}
		}
		sim.ServeHTTP(w, r)
	}))
	defer simSrv.Close()

	const drain = 10 * time.Second
	s, _ := newDrainServe(t, simSrv.URL, drain)
	cmd := s.start(t, bin)
	s.postBundle(t, 1)
	select {
	case <-entered:
	case <-time.After(15 * time.Second):
		t.Fatalf("no delivery attempt reached the vendor; output:\n%s", s.output.String())
	}
	stopped := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exited with %v; output:\n%s", err, s.output.String())
		}
	case <-time.After(drain + 5*time.Second):
		t.Fatalf("serve still running %s after SIGTERM", drain+5*time.Second)
	}
	// it waited for the answer, and no longer than needed
	took := time.Since(stopped)
	t.Logf("serve stopped %s after SIGTERM (drain_timeout %s, the vendor answers after %s)", took, drain, answerAfter)
	if took < answerAfter-200*time.Millisecond || took > drain-2*time.Second {
		t.Errorf("serve took %s to stop; the vendor answered after %s, drain_timeout is %s", took, answerAfter, drain)
	}
	if n := len(sim.Patients()); n != 1 {
		t.Errorf("vendor has %d patients, want 1; output:\n%s", n, s.output.String())
	}
	if out := s.jobs(t, bin, "delivered"); !strings.Contains(out, "pat-1") {
		t.Errorf("the job is not delivered after the stop:\n%s\nserve's output:\n%s", out, s.output.String())
	}
	if strings.Contains(s.output.String(), "still running at the end of the drain time") {
		t.Errorf("an attempt was interrupted; output:\n%s", s.output.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a subprocess's output copier and
// the test reading it at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
