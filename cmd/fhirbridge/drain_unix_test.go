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

// TestServeDrain stops the real binary with SIGTERM while a Bundle is
// half sent and a delivery attempt hangs at the vendor: the Bundle is
// still answered 200, new connections are refused at once, the process
// exits 0 within server.drain_timeout, and the delivery job it held is
// handed back (delivered right after a restart, well before its 5-minute
// lease would have ended). SIGHUP before that must not stop it.
func TestServeDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fhirbridge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/fhirbridge")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

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

	const drain = 10 * time.Second
	addr := freeAddr(t)
	base := "http://" + addr
	dataDir := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+dataDir+`
server: {listen: "`+addr+`", drain_timeout: `+drain.String()+`}
connectors:
  solo: {base_url: "`+simSrv.URL+`", api_key: {env: DRAIN_SOLO_KEY}, timeout: 60s}
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
	var logBuf syncBuffer
	start := func() *exec.Cmd {
		t.Helper()
		cmd := exec.Command(bin, "serve", "--config", cfg)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting serve: %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if resp, err := http.Get(base + "/readyz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("serve not ready after 20 s; output:\n%s", logBuf.String())
		return nil
	}
	cmd := start()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

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
	resp, err := http.Post(base+"/fhir", "application/fhir+json", bytes.NewReader(crashBundle(1)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("bundle 1: %d", resp.StatusCode)
	}
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
	if took := time.Since(stopped); took > drain {
		t.Errorf("serve took %s to stop, drain_timeout is %s", took, drain)
	}

	// After a restart both Patients reach the vendor, the interrupted one
	// included, though its lease (5 minutes) has not ended.
	hold.Store(false)
	cmd = start()
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
