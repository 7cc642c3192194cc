package connectors

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPreflightChecks(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		ok   bool
	}{
		{"port 22", CheckPort("22"), true},
		{"port 65535", CheckPort("65535"), true},
		{"port 0", CheckPort("0"), false},
		{"port 99999", CheckPort("99999"), false},
		{"port name", CheckPort("ssh"), false},
		{"host name", CheckHost("files.example"), true},
		{"IPv6", CheckHost("::1"), true},
		{"host with port", CheckHost("files.example:22"), false},
		{"host with user", CheckHost("u@files.example"), false},
		{"empty host", CheckHost(""), false},
		{"folder", IsDir(dir), true},
		{"file is no folder", IsDir(notPEM), false},
		{"missing folder", IsDir(filepath.Join(dir, "none")), false},
		{"no PEM certificate", ReadCAs(notPEM), false},
		{"missing CA file", ReadCAs(filepath.Join(dir, "none.pem")), false},
	}
	for _, tc := range cases {
		if (tc.err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok %v", tc.name, tc.err, tc.ok)
		}
	}
}
