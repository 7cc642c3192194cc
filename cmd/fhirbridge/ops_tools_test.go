package main

import (
	"os"
	"os/exec"
	"testing"
)

// lookTool returns the path of the operations tool name (promtool,
// docker-compose, sqlite3...). When it is not installed the test is
// skipped, or fails when the environment variable require is 1 (CI sets
// it after installing the Debian package pkg).
func lookTool(t *testing.T, name, require, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(require) == "1" {
			t.Fatalf("%s=1 but %s is not installed (apt-get install %s)", require, name, pkg)
		}
		t.Skipf("%s not installed (Debian package %s; %s=1 makes this a failure)", name, pkg, require)
	}
	return p
}
