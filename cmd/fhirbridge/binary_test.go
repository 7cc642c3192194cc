package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The fhirbridge binary the process tests run (drain, crash, chaos,
// backup, sizing, the systemd unit), built once per test run.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildBinary returns the path of the fhirbridge binary built from this
// checkout, building it on the first call; a failed build fails every
// caller with the compiler's output.
func buildBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "fhirbridge-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "fhirbridge")
		build := exec.Command("go", "build", "-o", binary.path, "./cmd/fhirbridge")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// TestMain removes the binary buildBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}
