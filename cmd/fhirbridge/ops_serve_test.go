//go:build unix

package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveProc is `fhirbridge serve` running as its own process.
type serveProc struct {
	Base string
	Cmd  *exec.Cmd
	log  syncBuffer
}

// startServeProc writes yaml (a config without server.listen, which is
// added) to dir, runs bin serve on it with no FHIRBRIDGE_* variable of
// the test's environment, waits for /readyz and kills the process when
// the test ends unless Stop was called.
func startServeProc(t testing.TB, bin, dir, yaml string) *serveProc {
	t.Helper()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(yaml+"server: {listen: \""+addr+"\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FHIRBRIDGE_") {
			env = append(env, kv)
		}
	}
	p := &serveProc{Base: "http://" + addr}
	p.Cmd = exec.Command(bin, "serve", "--config", cfg)
	p.Cmd.Env = env
	p.Cmd.Stdout, p.Cmd.Stderr = &p.log, &p.log
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("starting serve: %v", err)
	}
	t.Cleanup(func() {
		if p.Cmd.ProcessState == nil {
			p.Cmd.Process.Kill()
			p.Cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(p.Base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if p.Cmd.ProcessState != nil {
			break
		}
	}
	t.Fatalf("serve not ready after 30 s; output:\n%s", p.log.String())
	return nil
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *serveProc) Stop(t testing.TB) {
	t.Helper()
	if err := p.Cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited: %v; output:\n%s", err, p.log.String())
		}
	case <-time.After(60 * time.Second):
		p.Cmd.Process.Kill()
		<-done
		t.Errorf("serve did not stop within 60 s; output:\n%s", p.log.String())
	}
}
