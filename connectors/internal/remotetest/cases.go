package remotetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

func putThenRead(t *testing.T, r connectors.Remote) {
	b := Content(100_000)
	MustPut(t, r, "appointments.csv", b)
	MustPut(t, r, "b.csv", nil) // an empty export is still a file
	if got := Names(t, r, ""); !slices.Equal(got, []string{"appointments.csv", "b.csv"}) {
		t.Errorf("List = %q, want [appointments.csv b.csv] (no temporary left)", got)
	}
	infos, err := r.List(Ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if infos[0].Size != int64(len(b)) || infos[1].Size != 0 {
		t.Errorf("List sizes %d, %d; want %d, 0", infos[0].Size, infos[1].Size, len(b))
	}
	fi, err := r.Stat(Ctx(t), "appointments.csv")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Name != "appointments.csv" || fi.Size != int64(len(b)) {
		t.Errorf("Stat = %+v, want appointments.csv of %d bytes", fi, len(b))
	}
	if d := time.Since(fi.ModTime); d < -time.Hour || d > time.Hour {
		t.Errorf("Stat ModTime %v, want about now", fi.ModTime)
	}
	if got := ReadAll(t, r, "appointments.csv"); !bytes.Equal(got, b) {
		t.Errorf("Open gave %d bytes, want the %d uploaded", len(got), len(b))
	}
}

func putReplaces(t *testing.T, r connectors.Remote) {
	MustPut(t, r, "x.csv", Content(5000))
	newer := Content(1200)
	MustPut(t, r, "x.csv", newer)
	if got := ReadAll(t, r, "x.csv"); !bytes.Equal(got, newer) {
		t.Errorf("after a second Put the file has %d bytes, want the newer %d", len(got), len(newer))
	}
	if got := Names(t, r, ""); !slices.Equal(got, []string{"x.csv"}) {
		t.Errorf("List = %q, want [x.csv]", got)
	}
}

func moveIntoNewFolder(t *testing.T, r connectors.Remote) {
	b := Content(3000)
	MustPut(t, r, "x.csv", b)
	if err := r.Move(Ctx(t), "x.csv", "processed/x.csv"); err != nil {
		t.Fatalf("Move into a new folder: %v", err)
	}
	if got := Names(t, r, ""); len(got) != 0 {
		t.Errorf("base still lists %q after Move", got)
	}
	if got := Names(t, r, "processed"); !slices.Equal(got, []string{"processed/x.csv"}) {
		t.Errorf("List processed = %q, want [processed/x.csv]", got)
	}
	if got := ReadAll(t, r, "processed/x.csv"); !bytes.Equal(got, b) {
		t.Errorf("moved file has %d bytes, want %d", len(got), len(b))
	}
	// Moving over an existing file replaces it.
	MustPut(t, r, "x.csv", []byte("second\n"))
	if err := r.Move(Ctx(t), "x.csv", "processed/x.csv"); err != nil {
		t.Fatalf("Move over an existing file: %v", err)
	}
	if got := ReadAll(t, r, "processed/x.csv"); string(got) != "second\n" {
		t.Errorf("Move over an existing file left %q", got)
	}
	err := r.Move(Ctx(t), "gone.csv", "processed/gone.csv")
	if !errors.Is(err, connectors.ErrNotExist) {
		t.Errorf("Move of a missing file: %v, want ErrNotExist", err)
	}
}

func removeMissing(t *testing.T, r connectors.Remote) {
	if err := r.Remove(Ctx(t), "never-there.csv"); err != nil {
		t.Errorf("Remove of a missing file: %v, want nil", err)
	}
	MustPut(t, r, "x.csv", Content(10))
	if err := r.Remove(Ctx(t), "x.csv"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if got := Names(t, r, ""); len(got) != 0 {
		t.Errorf("List after Remove = %q", got)
	}
}

func openMissing(t *testing.T, r connectors.Remote) {
	_, err := r.Open(Ctx(t), "missing.csv")
	if !errors.Is(err, connectors.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v, want ErrNotExist", err)
	}
	IsClass(t, err, connectors.Permanent)
	_, err = r.Stat(Ctx(t), "missing.csv")
	if !errors.Is(err, connectors.ErrNotExist) {
		t.Errorf("Stat of a missing file: %v, want ErrNotExist", err)
	}
	IsClass(t, err, connectors.Permanent)
}

func failingReaderLeavesNoFile(t *testing.T, r connectors.Remote) {
	b := Content(200_000)
	n, err := r.Put(Ctx(t), "half.csv", &FailingReader{Data: b[:100_000], Err: ErrSource})
	if err == nil {
		t.Fatalf("Put from a failing reader succeeded (%d bytes)", n)
	}
	if !errors.Is(err, ErrSource) {
		t.Errorf("Put error %v does not wrap the source's error", err)
	}
	NoCanary(t, err)
	if got := Names(t, r, ""); len(got) != 0 {
		t.Errorf("after a failed Put, List = %q, want nothing", got)
	}
	if _, err := r.Stat(Ctx(t), "half.csv"); !errors.Is(err, connectors.ErrNotExist) {
		t.Errorf("after a failed Put, Stat = %v, want ErrNotExist", err)
	}
	MustPut(t, r, "half.csv", b)
	if got := ReadAll(t, r, "half.csv"); !bytes.Equal(got, b) {
		t.Errorf("retry gave %d bytes, want %d", len(got), len(b))
	}
}

func failingReaderKeepsOldFile(t *testing.T, r connectors.Remote) {
	old := Content(1000)
	MustPut(t, r, "x.csv", old)
	if _, err := r.Put(Ctx(t), "x.csv", &FailingReader{Data: Content(70_000), Err: ErrSource}); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if got := ReadAll(t, r, "x.csv"); !bytes.Equal(got, old) {
		t.Errorf("a failed Put changed the existing file (%d bytes, want %d)", len(got), len(old))
	}
}

func badNames(t *testing.T, r connectors.Remote) {
	for _, name := range []string{"", "/etc/passwd", "../x.csv", "a/../../x.csv", "x\r\nDELE y"} {
		_, err := r.Put(Ctx(t), name, bytes.NewReader([]byte("x")))
		if err == nil {
			t.Errorf("Put %q succeeded, want a refused name", name)
			continue
		}
		IsClass(t, err, connectors.Permanent)
	}
}

// putIntoNewFolder: Put creates the folder of the name (a report written
// beside a file in error/ before the file moves there).
func putIntoNewFolder(t *testing.T, r connectors.Remote) {
	b := Content(1200)
	MustPut(t, r, "error/deep/x.csv.report.txt", b)
	if got := ReadAll(t, r, "error/deep/x.csv.report.txt"); !bytes.Equal(got, b) {
		t.Errorf("file put into a new folder has %d bytes, want %d", len(got), len(b))
	}
}
