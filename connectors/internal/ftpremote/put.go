package ftpremote

import (
	"context"
	"fmt"
	"io"
	"path"

	"github.com/jlaffaye/ftp"

	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// Put implements connectors.Remote: STOR to ".<name>.tmp-<random>" in the
// same folder, compare the server's size with the bytes sent, rename over
// name. A server whose RNTO refuses to replace a file gets the old file
// deleted first: readers may then briefly see no file, never a partial
// one. On error the temporary is deleted when the session allows it.
func (r *remote) Put(ctx context.Context, name string, src io.Reader) (int64, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return 0, badName("uploading to ftp "+r.addr, err)
	}
	action := fmt.Sprintf("uploading %s to ftp %s", clean, r.addr)
	end := r.d.begin(ctx)
	defer end()
	tmp, final := r.path(xfer.TempName(clean)), r.path(clean)
	r.mkdirs(clean)
	rd := &xfer.Reader{Ctx: ctx, R: src}
	err = r.c.Stor(tmp, rd)
	if err == nil {
		err = r.checkSize(tmp, rd.N)
	}
	if err == nil {
		err = r.replace(tmp, final)
	}
	if err != nil {
		_ = r.c.Delete(tmp) // best effort
		if rd.Err != nil && ctx.Err() == nil {
			return 0, fmt.Errorf("%s: reading the source: %w", action, rd.Err)
		}
		return 0, classify(ctx, action, err)
	}
	return rd.N, nil
}

// checkSize compares the server's size of name with want: SIZE, or the
// folder listing when the server lacks SIZE.
func (r *remote) checkSize(name string, want int64) error {
	got, err := r.c.FileSize(name)
	if code := replyCode(err); code >= 500 && code != ftp.StatusFileUnavailable {
		got, err = r.sizeFromList(name)
	}
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("size check: the server has %d bytes, %d were sent", got, want)
	}
	return nil
}

func (r *remote) sizeFromList(name string) (int64, error) {
	entries, err := r.c.List(path.Dir(name))
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		if e.Name == path.Base(name) {
			return int64(e.Size), nil
		}
	}
	return 0, fmt.Errorf("size check: %s is not listed", path.Base(name))
}

// replace renames from over to, deleting to first when the server does
// not replace on rename.
func (r *remote) replace(from, to string) error {
	err := r.c.Rename(from, to)
	if code := replyCode(err); code >= 500 {
		if derr := r.c.Delete(to); derr == nil {
			err = r.c.Rename(from, to)
		}
	}
	return err
}
