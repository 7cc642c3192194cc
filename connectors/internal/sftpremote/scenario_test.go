package sftpremote

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/remotetest"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// The scenarios below run against the in-process server and against
// OpenSSH. dir is the base folder, on this machine's disk.

func mustOpen(t *testing.T, cfg connectors.RemoteConfig) connectors.Remote {
	t.Helper()
	r, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err != nil {
		t.Fatalf("opening sftp: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// diskNames lists dir on disk, temporaries included.
func diskNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// atomicUpload blocks an upload half-way and checks that only the
// temporary exists meanwhile, while a second session lists the folder
// in a loop and must never see a partial final file.
func atomicUpload(t *testing.T, cfg connectors.RemoteConfig, dir string) {
	r := mustOpen(t, cfg)
	lister := mustOpen(t, cfg)
	want := remotetest.Content(300_000)
	src := newGate(want, 150_000)

	var partial, complete atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			infos, err := lister.List(context.Background(), "")
			if err != nil {
				t.Errorf("concurrent List: %v", err)
				return
			}
			for _, fi := range infos {
				if fi.Size != int64(len(want)) {
					partial.Add(1)
				} else {
					complete.Add(1)
				}
			}
		}
	})
	done := make(chan error, 1)
	go func() {
		n, err := r.Put(context.Background(), "appointments.csv", src)
		if err == nil && n != int64(len(want)) {
			err = errors.New("wrong count")
		}
		done <- err
	}()
	<-src.Reached
	waitFor(t, "the temporary to hold data", func() bool {
		for _, n := range diskNames(t, dir) {
			if xfer.IsTemp(n) {
				fi, err := os.Stat(filepath.Join(dir, n))
				return err == nil && fi.Size() > 0
			}
		}
		return false
	})
	names := diskNames(t, dir)
	if len(names) != 1 || !xfer.IsTemp(names[0]) || !strings.HasPrefix(names[0], ".appointments.csv.tmp-") {
		t.Errorf("mid-upload the folder holds %q, want only the temporary", names)
	}
	close(src.Release)
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	waitFor(t, "the lister to see the final file", func() bool { return complete.Load() > 0 })
	close(stop)
	wg.Wait()
	if partial.Load() != 0 {
		t.Errorf("a concurrent lister saw a partial final file %d times", partial.Load())
	}
	if got := diskNames(t, dir); len(got) != 1 || got[0] != "appointments.csv" {
		t.Errorf("after Put the folder holds %q, want [appointments.csv]", got)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "appointments.csv")); !bytes.Equal(got, want) {
		t.Errorf("uploaded file has %d bytes, want %d", len(got), len(want))
	}
}

// cutUpload kills the connection while an upload is blocked half-way:
// Put fails as a transient fault, no final file exists, and a new
// session's retry succeeds.
func cutUpload(t *testing.T, cfg connectors.RemoteConfig, dir string, kill func()) {
	r := mustOpen(t, cfg)
	want := remotetest.Content(300_000)
	src := newGate(want, 150_000)
	done := make(chan error, 1)
	go func() {
		_, err := r.Put(context.Background(), "appointments.csv", src)
		done <- err
	}()
	<-src.Reached
	kill()
	close(src.Release)
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Put did not return after the connection was cut")
	}
	if err == nil {
		t.Fatal("Put succeeded over a cut connection")
	}
	remotetest.IsClass(t, err, connectors.Transient)
	remotetest.NoCanary(t, err)
	if !strings.Contains(err.Error(), "uploading appointments.csv to sftp ") {
		t.Errorf("error %q lacks the action phrase", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "appointments.csv")); !os.IsNotExist(serr) {
		t.Errorf("a cut upload left a final file (%v)", serr)
	}
	retry := mustOpen(t, cfg)
	remotetest.MustPut(t, retry, "appointments.csv", want)
	if got, _ := os.ReadFile(filepath.Join(dir, "appointments.csv")); !bytes.Equal(got, want) {
		t.Errorf("retried file has %d bytes, want %d", len(got), len(want))
	}
}

// refusedHostKey checks that cfg, pinned to a key the server no longer
// has, cannot connect, reports ErrHostKey as a reconnect failure and
// uploads nothing.
func refusedHostKey(t *testing.T, cfg connectors.RemoteConfig, dir string) {
	r, err := connectors.OpenRemote(remotetest.Ctx(t), cfg)
	if err == nil {
		r.Close()
		t.Fatal("connected to a server with a changed host key")
	}
	if !errors.Is(err, connectors.ErrHostKey) {
		t.Errorf("error %v does not match ErrHostKey", err)
	}
	remotetest.IsClass(t, err, connectors.Reconnect)
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error %q prints the password", err)
	}
	if got := diskNames(t, dir); len(got) != 0 {
		t.Errorf("folder holds %q after a refused connection", got)
	}
}
