package localremote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// TestSymlinksRefused: a symlinked processed/ or error/ folder, or a
// symlinked file, is refused, never followed: nothing lands outside the
// base folder and nothing outside it is read.
func TestSymlinksRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		link string // below the base, pointing outside it
		file bool   // the link points at a file, not a folder
		op   func(r connectors.Remote) error
	}{
		{"move into a symlinked processed folder", "in/processed", false, func(r connectors.Remote) error {
			return r.Move(ctx, "in/a.csv", "in/processed/a.csv")
		}},
		{"put into a symlinked error folder", "in/error", false, func(r connectors.Remote) error {
			_, err := r.Put(ctx, "in/error/a.csv.report.txt", strings.NewReader("x"))
			return err
		}},
		{"stat a symlinked file", "in/b.csv", true, func(r connectors.Remote) error {
			_, err := r.Stat(ctx, "in/b.csv")
			return err
		}},
		{"open a symlinked file", "in/b.csv", true, func(r connectors.Remote) error {
			_, err := r.Open(ctx, "in/b.csv")
			return err
		}},
		{"move a symlinked file", "in/b.csv", true, func(r connectors.Remote) error {
			return r.Move(ctx, "in/b.csv", "in/error/b.csv")
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			base, outside := t.TempDir(), t.TempDir()
			os.MkdirAll(filepath.Join(base, "in"), 0o755)
			os.WriteFile(filepath.Join(base, "in", "a.csv"), []byte("a"), 0o644)
			target := outside
			if tt.file {
				target = filepath.Join(outside, "secret.csv")
				os.WriteFile(target, []byte("outside"), 0o644)
			}
			if err := os.Symlink(target, filepath.Join(base, filepath.FromSlash(tt.link))); err != nil {
				t.Skip("no symlinks here:", err)
			}
			r, err := Open(ctx, connectors.RemoteConfig{Dir: base})
			if err != nil {
				t.Fatal(err)
			}
			err = tt.op(r)
			if !errors.Is(err, errSymlink) || func() bool { c, _ := connectors.Classify(err); return c != connectors.Permanent }() {
				t.Fatalf("err %v, want a permanent symlink refusal", err)
			}
			entries, _ := os.ReadDir(outside)
			if n := len(entries); n != map[bool]int{false: 0, true: 1}[tt.file] {
				t.Errorf("%d entries outside the base folder", n)
			}
		})
	}
}

// TestMoveAsideNameWithLineBreak: a file whose name holds a line break
// can be moved to a clean name (the error folder), and only as a source.
func TestMoveAsideNameWithLineBreak(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	bad := "in/a\nb.csv"
	os.MkdirAll(filepath.Join(base, "in"), 0o755)
	if err := os.WriteFile(filepath.Join(base, filepath.FromSlash(bad)), []byte("x"), 0o644); err != nil {
		t.Skip("file system refuses the name:", err)
	}
	r, _ := Open(ctx, connectors.RemoteConfig{Dir: base})
	if err := r.Move(ctx, "in/a.csv", "in/error/x\ny.csv"); err == nil {
		t.Error("a destination with a line break was accepted")
	}
	if err := r.Move(ctx, bad, "in/error/rejected.csv"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, "in", "error", "rejected.csv")); err != nil {
		t.Error(err)
	}
}
