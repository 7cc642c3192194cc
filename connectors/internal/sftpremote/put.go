package sftpremote

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// Put implements connectors.Remote: upload to ".<name>.tmp-<random>" in
// the same folder, compare the server's size with the bytes sent, then
// posix-rename over name. On error the temporary is removed when the
// session still allows it.
func (r *remote) Put(ctx context.Context, name string, src io.Reader) (int64, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return 0, badName("uploading to sftp "+r.addr, err)
	}
	action := fmt.Sprintf("uploading %s to sftp %s", clean, r.addr)
	end := r.guard.Begin(ctx)
	defer end()
	tmp := r.path(xfer.TempName(clean))
	if dir := path.Dir(clean); dir != "." {
		if err := r.c.MkdirAll(r.path(dir)); err != nil {
			return 0, classify(ctx, action, err)
		}
	}
	rd := &xfer.Reader{Ctx: ctx, R: src}
	err = r.upload(tmp, rd)
	if err == nil {
		err = r.c.PosixRename(tmp, r.path(clean))
	}
	if err != nil {
		_ = r.c.Remove(tmp) // best effort: a dead session leaves it behind
		if rd.Err != nil && ctx.Err() == nil {
			return 0, fmt.Errorf("%s: reading the source: %w", action, rd.Err)
		}
		return 0, classify(ctx, action, err)
	}
	return rd.N, nil
}

// upload writes rd to tmp and checks the size the server reports.
func (r *remote) upload(tmp string, rd *xfer.Reader) error {
	f, err := r.c.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	_, err = f.ReadFrom(rd)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fi, err := r.c.Stat(tmp)
	if err != nil {
		return err
	}
	if fi.Size() != rd.N {
		return fmt.Errorf("size check: the server has %d bytes, %d were sent", fi.Size(), rd.N)
	}
	return nil
}
