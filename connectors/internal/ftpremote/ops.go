package ftpremote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/jlaffaye/ftp"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// List implements connectors.Remote; temporary upload files are left out.
func (r *remote) List(ctx context.Context, dir string) ([]connectors.FileInfo, error) {
	clean, err := xfer.CleanDir(dir)
	if err != nil {
		return nil, badName("listing ftp "+r.addr, err)
	}
	end := r.d.begin(ctx)
	defer end()
	entries, err := r.c.List(r.path(clean))
	if err != nil {
		return nil, classify(ctx, fmt.Sprintf("listing folder %q on ftp %s", clean, r.addr), err)
	}
	var out []connectors.FileInfo
	for _, e := range entries {
		base := path.Base(e.Name) // some servers list full paths
		if e.Type == ftp.EntryTypeFile && !xfer.IsTemp(base) {
			out = append(out, connectors.FileInfo{Name: path.Join(clean, base), Size: int64(e.Size), ModTime: e.Time})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stat implements connectors.Remote from the listing of the file's folder,
// which every server supports.
func (r *remote) Stat(ctx context.Context, name string) (connectors.FileInfo, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return connectors.FileInfo{}, badName("reading ftp "+r.addr, err)
	}
	infos, err := r.List(ctx, path.Dir(clean))
	if err != nil {
		return connectors.FileInfo{}, err
	}
	for _, fi := range infos {
		if fi.Name == clean {
			return fi, nil
		}
	}
	return connectors.FileInfo{}, connectors.Permanently(fmt.Errorf("reading the size of %s on ftp %s: %w", clean, r.addr, connectors.ErrNotExist))
}

// Open implements connectors.Remote. Each Read is an operation bounded
// by the timeout and ctx; no other call may be made until Close.
func (r *remote) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return nil, badName("downloading from ftp "+r.addr, err)
	}
	end := r.d.begin(ctx)
	defer end()
	action := fmt.Sprintf("downloading %s from ftp %s", clean, r.addr)
	resp, err := r.c.Retr(r.path(clean))
	if err != nil {
		return nil, classify(ctx, action, err)
	}
	return &file{resp: resp, r: r, ctx: ctx, action: action}, nil
}

type file struct {
	resp   *ftp.Response
	r      *remote
	ctx    context.Context
	action string
}

func (f *file) Read(p []byte) (int, error) {
	end := f.r.d.begin(f.ctx)
	defer end()
	n, err := f.resp.Read(p)
	if err != nil && err != io.EOF {
		return n, classify(f.ctx, f.action, err)
	}
	return n, err
}

func (f *file) Close() error {
	end := f.r.d.begin(f.ctx)
	defer end()
	if err := f.resp.Close(); err != nil {
		return classify(f.ctx, f.action, err)
	}
	return nil
}

// Move implements connectors.Remote, creating to's folders (MKD) first.
func (r *remote) Move(ctx context.Context, from, to string) error {
	cf, err := xfer.CleanName(from)
	if err != nil {
		return badName("moving on ftp "+r.addr, err)
	}
	ct, err := xfer.CleanName(to)
	if err != nil {
		return badName("moving on ftp "+r.addr, err)
	}
	if _, err := r.Stat(ctx, cf); err != nil {
		return err
	}
	end := r.d.begin(ctx)
	defer end()
	r.mkdirs(ct)
	if err := r.replace(r.path(cf), r.path(ct)); err != nil {
		return classify(ctx, fmt.Sprintf("moving %s to %s on ftp %s", cf, ct, r.addr), err)
	}
	return nil
}

// Remove implements connectors.Remote; a 550 reply for a file that the
// listing does not show is a missing file, not an error.
func (r *remote) Remove(ctx context.Context, name string) error {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return badName("removing from ftp "+r.addr, err)
	}
	end := r.d.begin(ctx)
	err = r.c.Delete(r.path(clean))
	end()
	if err == nil {
		return nil
	}
	if replyCode(err) == ftp.StatusFileUnavailable {
		if _, serr := r.Stat(ctx, clean); serr != nil && errors.Is(serr, connectors.ErrNotExist) {
			return nil
		}
	}
	return classify(ctx, fmt.Sprintf("removing %s from ftp %s", clean, r.addr), err)
}

// mkdirs creates the folders of name, one MKD per level; a failure means
// the folder exists already, or the next command says why.
func (r *remote) mkdirs(name string) {
	if dir := path.Dir(name); dir != "." {
		parts := strings.Split(dir, "/")
		for i := range parts {
			_ = r.c.MakeDir(r.path(strings.Join(parts[:i+1], "/")))
		}
	}
}
