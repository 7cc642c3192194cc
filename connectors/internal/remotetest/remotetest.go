// Package remotetest is the conformance suite every connectors.Remote
// kind runs against its in-process (or real) server: what the exports
// and inbound jobs rely on, checked the same way for local folders, SFTP
// and FTP.
package remotetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Canary is written into every uploaded file; no error message may
// contain it (errors name files, never contents).
const Canary = "CANARY-NOT-FOR-ERRORS"

// Open returns a Remote on an empty base folder, not shared with any
// other call; Run closes it.
type Open func(t *testing.T) connectors.Remote

// Run runs the conformance suite, each case on a fresh Remote from open.
func Run(t *testing.T, open Open) {
	cases := []struct {
		name string
		run  func(t *testing.T, r connectors.Remote)
	}{
		{"PutThenRead", putThenRead},
		{"PutReplaces", putReplaces},
		{"MoveIntoNewFolder", moveIntoNewFolder},
		{"PutIntoNewFolder", putIntoNewFolder},
		{"RemoveMissing", removeMissing},
		{"OpenMissing", openMissing},
		{"FailingReaderLeavesNoFile", failingReaderLeavesNoFile},
		{"FailingReaderKeepsOldFile", failingReaderKeepsOldFile},
		{"BadNames", badNames},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := open(t)
			t.Cleanup(func() { _ = r.Close() })
			c.run(t, r)
		})
	}
}

// Ctx returns a context that ends with the test or after 20s.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Content returns n bytes of CSV-like text holding Canary.
func Content(n int) []byte {
	line := "id;" + Canary + ";2024-01-01\n"
	b := bytes.Repeat([]byte(line), n/len(line)+1)
	return b[:n]
}

// MustPut uploads b to name and checks the count.
func MustPut(t *testing.T, r connectors.Remote, name string, b []byte) {
	t.Helper()
	n, err := r.Put(Ctx(t), name, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Put %s: %v", name, err)
	}
	if n != int64(len(b)) {
		t.Fatalf("Put %s wrote %d bytes, want %d", name, n, len(b))
	}
}

// ReadAll reads name through Open.
func ReadAll(t *testing.T, r connectors.Remote, name string) []byte {
	t.Helper()
	rc, err := r.Open(Ctx(t), name)
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	b, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

// Names lists dir and returns the file names.
func Names(t *testing.T, r connectors.Remote, dir string) []string {
	t.Helper()
	infos, err := r.List(Ctx(t), dir)
	if err != nil {
		t.Fatalf("List %q: %v", dir, err)
	}
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name
	}
	return names
}

// NoCanary fails when err's message carries file contents.
func NoCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), Canary) {
		t.Errorf("error message carries file contents: %v", err)
	}
}

// IsClass fails unless err is classified as want.
func IsClass(t *testing.T, err error, want connectors.Class) {
	t.Helper()
	if got, _ := connectors.Classify(err); got != want {
		t.Errorf("class %v, want %v (%v)", got, want, err)
	}
}

// FailingReader yields Data then fails with Err.
type FailingReader struct {
	Data []byte
	Err  error
}

// Read implements io.Reader.
func (f *FailingReader) Read(p []byte) (int, error) {
	if len(f.Data) == 0 {
		return 0, f.Err
	}
	n := copy(p, f.Data)
	f.Data = f.Data[n:]
	return n, nil
}

// ErrSource is the error of a FailingReader in the suite.
var ErrSource = errors.New("source failed half-way")
