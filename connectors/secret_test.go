package connectors

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// TestSecretFromConfig: a module's secret names where its value lives and
// is resolved once, at decode; it never prints.
func TestSecretFromConfig(t *testing.T) {
	const canary = "CANARY-SECRET-77"
	t.Setenv("SECRET_TEST_VAR", canary)
	t.Setenv("SECRET_TEST_EMPTY", "")
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte(canary+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, yaml, want, wantErr string
	}{
		{"env", "{env: SECRET_TEST_VAR}", canary, ""},
		{"file, line break dropped", "{file: " + file + "}", canary, ""},
		{"empty stays empty for the key check", `""`, "", ""},
		{"written value", "hunter2", "", "values are not written in the config file"},
		{"unset variable", "{env: SECRET_TEST_NOPE}", "", "environment variable SECRET_TEST_NOPE is not set"},
		{"empty variable", "{env: SECRET_TEST_EMPTY}", "", "environment variable SECRET_TEST_EMPTY is not set"},
		{"missing file", "{file: " + filepath.Join(dir, "none") + "}", "", "secret: reading"},
		{"both", "{env: A, file: B}", "", "exactly one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v struct {
				S Secret `yaml:"s"`
			}
			err := yaml.Unmarshal([]byte("s: "+tc.yaml+"\n"), &v)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("decode: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("decode error = %v, want %q", err, tc.wantErr)
			case err == nil && v.S.Reveal() != tc.want:
				t.Errorf("Reveal = %q, want %q", v.S.Reveal(), tc.want)
			}
			if out := fmt.Sprintf("%v %+v %#v %q %s", v, v, v, v.S, v.S); strings.Contains(out, canary) {
				t.Error("the secret printed")
			}
			if err != nil && strings.Contains(err.Error(), canary) {
				t.Error("the error shows the secret")
			}
		})
	}
}

func TestDurationFromConfig(t *testing.T) {
	cases := []struct {
		yaml    string
		want    time.Duration
		wantErr string
	}{
		{"30s", 30 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"soon", 0, `invalid duration "soon"`},
		{"[1]", 0, "a duration is a string"},
	}
	for _, tc := range cases {
		var v struct {
			D Duration `yaml:"d"`
		}
		err := yaml.Unmarshal([]byte("d: "+tc.yaml+"\n"), &v)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error = %v, want %q", tc.yaml, err, tc.wantErr)
			}
			continue
		}
		if err != nil || time.Duration(v.D) != tc.want {
			t.Errorf("%s: %v, %v", tc.yaml, v.D, err)
		}
	}
	var d Duration
	if err := d.UnmarshalText([]byte("2m")); err != nil || time.Duration(d) != 2*time.Minute || d.String() != "2m0s" {
		t.Errorf("UnmarshalText: %v %v", d, err)
	}
}
