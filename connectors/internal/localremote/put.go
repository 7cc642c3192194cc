package localremote

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// Put implements connectors.Remote: temporary file, fsync, size check,
// rename, fsync of the folder.
func (r *remote) Put(ctx context.Context, name string, src io.Reader) (int64, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return 0, badName("writing to local folder", err)
	}
	action := "writing " + r.where(clean)
	if err := r.noSymlink(action, clean); err != nil {
		return 0, err
	}
	final := r.path(clean)
	tmp := r.path(xfer.TempName(clean))
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return 0, classify(action, err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, classify(action, err)
	}
	n, err := write(ctx, f, src)
	if err == nil {
		err = rename(tmp, final)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return 0, wrap(action, err)
	}
	return n, nil
}

// write copies src into f, syncs and closes f, and checks its size.
func write(ctx context.Context, f *os.File, src io.Reader) (int64, error) {
	rd := &xfer.Reader{Ctx: ctx, R: src}
	if _, err := io.Copy(f, rd); err != nil {
		if rd.Err != nil {
			return 0, sourceError{fmt.Errorf("reading the source: %w", rd.Err)}
		}
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if fi.Size() != rd.N {
		return 0, fmt.Errorf("size check: %d bytes on disk, %d written", fi.Size(), rd.N)
	}
	return rd.N, nil
}

// rename moves tmp over final and syncs the folder so the rename
// survives a crash.
func rename(tmp, final string) error {
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		_ = d.Sync() // best effort: not every file system syncs folders
		_ = d.Close()
	}
	return nil
}

// sourceError is a failure of the caller's reader: it keeps the caller's
// classification (unclassified errors count as transient).
type sourceError struct{ err error }

func (e sourceError) Error() string { return e.err.Error() }
func (e sourceError) Unwrap() error { return e.err }

// wrap adds the action phrase, classifying file system errors but not the
// source's.
func wrap(action string, err error) error {
	if se, ok := err.(sourceError); ok {
		return fmt.Errorf("%s: %w", action, se.err)
	}
	return classify(action, err)
}
