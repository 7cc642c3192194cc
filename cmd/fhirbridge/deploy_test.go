package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildStamped builds the binary with `go build` in a git checkout, as an
// operator would, so that the toolchain stamps the VCS revision into it.
// The toolchain recognises only a .git directory, not the .git file of a
// linked worktree, so such a checkout is first cloned (its HEAD) into a
// temporary directory.
func buildStamped(t *testing.T, bin string) {
	t.Helper()
	dir := repoRoot(t)
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err != nil || !fi.IsDir() {
		clone := filepath.Join(t.TempDir(), "src")
		if out, err := exec.Command("git", "clone", "--quiet", dir, clone).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
		dir = clone
	}
	// -buildvcs=true: the default ("auto") stamps too, but a GOFLAGS of
	// -buildvcs=false in the environment would silently turn it off.
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/fhirbridge")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
}

// TestVersionOfBuiltBinary: `go build` then `fhirbridge version` prints a
// VCS revision, not "dev" alone.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), ".git")); err != nil {
		t.Skip("not a git checkout: the build has no VCS data to stamp")
	}
	bin := filepath.Join(t.TempDir(), "fhirbridge")
	buildStamped(t, bin)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^revision: [0-9a-f]{12,40}( \(modified\))?$`).Match(out) {
		t.Errorf("version printed no revision:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^time: \d{4}-\d\d-\d\dT`).Match(out) {
		t.Errorf("version printed no commit time:\n%s", out)
	}
	if !strings.HasPrefix(string(out), "fhirbridge ") {
		t.Errorf("version output %q", out)
	}
}

func TestHealthCmd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tests := []struct {
		url string
		ok  bool
	}{
		{srv.URL + "/readyz", true},
		{srv.URL + "/other", false},
		{"http://127.0.0.1:1/readyz", false},
	}
	for _, tt := range tests {
		if _, _, code := run(t, "", "health", "--url", tt.url); (code == 0) != tt.ok {
			t.Errorf("health --url %s: exit %d, want success %v", tt.url, code, tt.ok)
		}
	}
}

// TestSystemdUnitVerify runs `systemd-analyze verify` on
// deploy/fhirbridge.service, with ExecStart pointed at a freshly built
// binary (verify checks that the command exists). Skipped without
// systemd-analyze unless FHIRBRIDGE_REQUIRE_SYSTEMD=1.
func TestSystemdUnitVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("FHIRBRIDGE_REQUIRE_SYSTEMD") == "1" {
			t.Fatal("FHIRBRIDGE_REQUIRE_SYSTEMD=1 but systemd-analyze is not installed (apt-get install systemd)")
		}
		t.Skip("systemd-analyze not installed")
	}
	unit, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "fhirbridge.service"))
	if err != nil {
		t.Fatal(err)
	}
	const installed = "/usr/local/bin/fhirbridge"
	if !strings.Contains(string(unit), "ExecStart="+installed+" ") {
		t.Fatalf("the unit's ExecStart does not run %s", installed)
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	path := filepath.Join(dir, "fhirbridge.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), installed, bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDockerImageBuild builds the Dockerfile when docker or podman works on
// this machine (skipped otherwise, and under -short).
func TestDockerImageBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image")
	}
	var tool string
	for _, name := range []string{"docker", "podman"} {
		if p, err := exec.LookPath(name); err == nil && exec.Command(p, "info").Run() == nil {
			tool = p
			break
		}
	}
	if tool == "" {
		t.Skip("no working docker or podman")
	}
	out, err := exec.Command(tool, "build", "-q", "-t", "fhirbridge:test", repoRoot(t)).CombinedOutput()
	if err != nil {
		t.Fatalf("%s build: %v\n%s", tool, err, out)
	}
}

// TestAlertRules checks deploy/alerts.yaml with promtool: the rules file
// loads (`promtool check rules`), and the unit tests of
// deploy/alerts_test.yaml pass (`promtool test rules`): every alert fires
// on the series it is written for and stays quiet on healthy ones.
// Skipped without promtool unless FHIRBRIDGE_REQUIRE_PROMTOOL=1.
func TestAlertRules(t *testing.T) {
	promtool := lookTool(t, "promtool", "FHIRBRIDGE_REQUIRE_PROMTOOL", "prometheus")
	deploy := filepath.Join(repoRoot(t), "deploy")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yaml"},
		{"test", "rules", "alerts_test.yaml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = deploy
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
