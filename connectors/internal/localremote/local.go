// Package localremote is the "local" kind of connectors.Remote: a folder
// on disk (RemoteConfig.Dir), for demos, tests and sites that mount their
// file server. Put writes a temporary file in the same folder, fsyncs it,
// checks its size and renames it over the final name.
package localremote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// Kind is the RemoteConfig.Kind of a local folder.
const Kind = "local"

func init() { connectors.RegisterRemote(Kind, Open) }

// Open returns the Remote of the existing folder cfg.Dir.
func Open(_ context.Context, cfg connectors.RemoteConfig) (connectors.Remote, error) {
	if cfg.Dir == "" {
		return nil, connectors.Permanently(errors.New("opening local remote: Dir is not set"))
	}
	fi, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, classify(fmt.Sprintf("opening local folder %s", cfg.Dir), err)
	}
	if !fi.IsDir() {
		return nil, connectors.Permanently(fmt.Errorf("opening local folder %s: not a folder", cfg.Dir))
	}
	return &remote{dir: cfg.Dir}, nil
}

type remote struct {
	dir string
}

var _ connectors.Remote = (*remote)(nil)

// path turns a checked relative name into a path on disk.
func (r *remote) path(name string) string {
	return filepath.Join(r.dir, filepath.FromSlash(name))
}

// where names the file in errors.
func (r *remote) where(name string) string {
	return fmt.Sprintf("%s in local folder %s", name, r.dir)
}

// classify turns a file system error into a classified one under the
// action phrase: missing files wrap ErrNotExist and are Permanent, as
// are refused permissions; the rest (disk full, I/O) is Transient.
func classify(action string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return connectors.Permanently(fmt.Errorf("%s: %w", action, connectors.ErrNotExist))
	case errors.Is(err, fs.ErrPermission):
		return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
	default:
		return connectors.Transiently(fmt.Errorf("%s: %w", action, err), 0)
	}
}

// badName classifies a refused name.
func badName(action string, err error) error {
	return connectors.Permanently(fmt.Errorf("%s: %w", action, err))
}

// Close implements connectors.Remote; a folder has no session.
func (r *remote) Close() error { return nil }
