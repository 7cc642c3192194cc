package localremote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/remotetest"
)

func TestConformance(t *testing.T) {
	remotetest.Run(t, func(t *testing.T) connectors.Remote {
		r, err := connectors.OpenRemote(context.Background(), connectors.RemoteConfig{Kind: Kind, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

func TestFailedPutLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(context.Background(), connectors.RemoteConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	src := &remotetest.FailingReader{Data: remotetest.Content(50_000), Err: remotetest.ErrSource}
	if _, err := r.Put(context.Background(), "x.csv", src); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("folder holds %d entries after a failed Put, want none (the temporary is removed)", len(entries))
	}
}

func TestCancelledPut(t *testing.T) {
	r, err := Open(context.Background(), connectors.RemoteConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Put(ctx, "x.csv", &remotetest.FailingReader{Data: []byte("a"), Err: remotetest.ErrSource})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put under a cancelled context: %v, want context.Canceled", err)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(context.Background(), connectors.RemoteConfig{})
	remotetest.IsClass(t, err, connectors.Permanent)
	_, err = Open(context.Background(), connectors.RemoteConfig{Dir: filepath.Join(t.TempDir(), "missing")})
	if !errors.Is(err, connectors.ErrNotExist) {
		t.Errorf("Open of a missing folder: %v, want ErrNotExist", err)
	}
}
