package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenOutput: standard output for "" and "-"; a file appears only
// once committed, keeps an existing file's mode, and a discarded output
// leaves the old content and no temporary file.
func TestOpenOutput(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.txt")
	if err := os.WriteFile(existing, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		commit     bool
		wantStdout string
		wantFile   string // "" when path must not exist or keep "old"
		wantMode   os.FileMode
	}{
		{"stdout empty", "", true, "data", "", 0},
		{"stdout dash", "-", true, "data", "", 0},
		{"new file", filepath.Join(dir, "new.txt"), true, "", "data", 0o644},
		{"existing kept mode", existing, true, "", "data", 0o600},
		{"discarded", filepath.Join(dir, "gone.txt"), false, "", "", 0},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			w, commit, err := OpenOutput(tt.path, &stdout)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write([]byte("data")); err != nil {
				t.Fatal(err)
			}
			if tt.path != "" && tt.path != "-" {
				if _, err := os.Stat(tt.path); tt.path != existing && err == nil {
					t.Error("the output is visible before commit")
				}
			}
			if err := commit(tt.commit); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.wantStdout)
			}
			if tt.wantFile != "" {
				b, err := os.ReadFile(tt.path)
				if err != nil || string(b) != tt.wantFile {
					t.Errorf("file %q (%v), want %q", b, err, tt.wantFile)
				}
				if st, err := os.Stat(tt.path); err != nil || st.Mode().Perm()&^0o022 != tt.wantMode&^0o022 {
					t.Errorf("mode %v, want %v", st.Mode().Perm(), tt.wantMode)
				}
			} else if tt.path != "" && tt.path != "-" {
				if _, err := os.Stat(tt.path); err == nil {
					t.Error("a discarded output exists")
				}
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
