//go:build linux

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of size bytes on a fresh directory, or skips
// when the test may not mount (not root, no CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): needs root or CAP_SYS_ADMIN", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// TestSQLiteFilesystemFull runs the store on a small tmpfs until the disk is
// really full (ENOSPC): the failing transaction is ErrUnavailable and
// leaves nothing, earlier commits survive, and the store recovers once space
// frees (RELIABILITY.md case 15).
func TestSQLiteFilesystemFull(t *testing.T) {
	ctx := context.Background()
	dir := mountTmpfs(t, 4<<20)
	url := "sqlite://" + filepath.Join(dir, "fhirbridge.db")
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	big := []byte(`{"resourceType":"Patient","note":"` + canary + strings.Repeat("x", 32<<10) + `"}`)
	var committed []string
	var full error
	for i := 0; i < 100 && full == nil; i++ {
		id := fmt.Sprint("p", i)
		if _, _, full = putTx(s, "Patient", id, big); full == nil {
			committed = append(committed, id)
		} else if _, _, err := s.GetResource(ctx, "Patient", id); !errors.Is(err, ErrNotFound) {
			t.Errorf("failed put left %s behind: %v", id, err)
		}
	}
	if full == nil {
		t.Fatal("filesystem never filled up")
	}
	if !errors.Is(full, ErrUnavailable) {
		t.Fatalf("full disk: got %v, want ErrUnavailable", full)
	}
	noCanary(t, full)
	t.Logf("full after %d commits: %v", len(committed), full)
	for _, id := range committed {
		if _, _, err := s.GetResource(ctx, "Patient", id); err != nil {
			t.Errorf("committed %s lost: %v", id, err)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, _, err := putTx(s, "Patient", "after", big); err != nil {
		t.Errorf("after space freed: %v", err)
	}
}

// TestSQLiteReadOnlyFile opens a database file that cannot be written
// (permissions, or a read-only bind mount when running as root, since root
// ignores permissions): either Open or the first write is ErrUnavailable.
func TestSQLiteReadOnlyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	url := "sqlite://" + filepath.Join(dir, "fhirbridge.db")
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := putTx(s, "Patient", "p1", []byte(`{"resourceType":"Patient"}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if os.Geteuid() == 0 {
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			t.Skipf("cannot bind-mount as root (%v)", err)
		}
		t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY, ""); err != nil {
			t.Skipf("cannot remount read-only (%v)", err)
		}
	} else {
		for _, p := range []string{filepath.Join(dir, "fhirbridge.db"), dir} {
			if err := os.Chmod(p, 0o555); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
	}
	ro, err := Open(ctx, url)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Open(read-only) = %v, want ErrUnavailable", err)
		}
		t.Logf("Open(read-only): %v", err)
		return
	}
	defer ro.Close()
	_, _, err = putTx(ro, "Patient", "p2", []byte(`{"resourceType":"Patient"}`))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("write to read-only file = %v, want ErrUnavailable", err)
	}
	t.Logf("write to read-only file: %v", err)
}
