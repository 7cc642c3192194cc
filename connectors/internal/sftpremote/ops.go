package sftpremote

import (
	"context"
	"fmt"
	"io"
	"path"
	"sort"

	"github.com/pkg/sftp"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// List implements connectors.Remote; temporary upload files are left out.
func (r *remote) List(ctx context.Context, dir string) ([]connectors.FileInfo, error) {
	clean, err := xfer.CleanDir(dir)
	if err != nil {
		return nil, badName("listing sftp "+r.addr, err)
	}
	end := r.guard.Begin(ctx)
	defer end()
	infos, err := r.c.ReadDir(r.path(clean))
	if err != nil {
		return nil, classify(ctx, fmt.Sprintf("listing folder %q on sftp %s", clean, r.addr), err)
	}
	var out []connectors.FileInfo
	for _, fi := range infos {
		if fi.Mode().IsRegular() && !xfer.IsTemp(fi.Name()) {
			out = append(out, connectors.FileInfo{Name: path.Join(clean, fi.Name()), Size: fi.Size(), ModTime: fi.ModTime()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Stat implements connectors.Remote.
func (r *remote) Stat(ctx context.Context, name string) (connectors.FileInfo, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return connectors.FileInfo{}, badName("reading sftp "+r.addr, err)
	}
	end := r.guard.Begin(ctx)
	defer end()
	action := fmt.Sprintf("reading the size of %s on sftp %s", clean, r.addr)
	fi, err := r.c.Stat(r.path(clean))
	if err != nil {
		return connectors.FileInfo{}, classify(ctx, action, err)
	}
	if !fi.Mode().IsRegular() {
		return connectors.FileInfo{}, badName(action, fmt.Errorf("not a regular file"))
	}
	return connectors.FileInfo{Name: clean, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Open implements connectors.Remote. Each Read of the file is an
// operation bounded by the timeout and ctx.
func (r *remote) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return nil, badName("downloading from sftp "+r.addr, err)
	}
	end := r.guard.Begin(ctx)
	defer end()
	action := fmt.Sprintf("downloading %s from sftp %s", clean, r.addr)
	f, err := r.c.Open(r.path(clean))
	if err != nil {
		return nil, classify(ctx, action, err)
	}
	return &file{f: f, r: r, ctx: ctx, action: action}, nil
}

// file is an open remote file whose reads run under the guard.
type file struct {
	f      *sftp.File
	r      *remote
	ctx    context.Context
	action string
}

func (f *file) Read(p []byte) (int, error) {
	end := f.r.guard.Begin(f.ctx)
	defer end()
	n, err := f.f.Read(p)
	if err != nil && err != io.EOF {
		return n, classify(f.ctx, f.action, err)
	}
	return n, err
}

func (f *file) Close() error {
	if err := f.f.Close(); err != nil {
		return classify(f.ctx, f.action, err)
	}
	return nil
}

// Move implements connectors.Remote with posix-rename, creating to's
// folder first.
func (r *remote) Move(ctx context.Context, from, to string) error {
	cf, err := xfer.CleanName(from)
	if err != nil {
		return badName("moving on sftp "+r.addr, err)
	}
	ct, err := xfer.CleanName(to)
	if err != nil {
		return badName("moving on sftp "+r.addr, err)
	}
	end := r.guard.Begin(ctx)
	defer end()
	action := fmt.Sprintf("moving %s to %s on sftp %s", cf, ct, r.addr)
	if _, err := r.c.Lstat(r.path(cf)); err != nil {
		return classify(ctx, action, err)
	}
	if dir := path.Dir(ct); dir != "." {
		if err := r.c.MkdirAll(r.path(dir)); err != nil {
			return classify(ctx, action, err)
		}
	}
	if err := r.c.PosixRename(r.path(cf), r.path(ct)); err != nil {
		return classify(ctx, action, err)
	}
	return nil
}

// Remove implements connectors.Remote.
func (r *remote) Remove(ctx context.Context, name string) error {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return badName("removing from sftp "+r.addr, err)
	}
	end := r.guard.Begin(ctx)
	defer end()
	if err := r.c.Remove(r.path(clean)); err != nil && !isNotExist(err) {
		return classify(ctx, fmt.Sprintf("removing %s from sftp %s", clean, r.addr), err)
	}
	return nil
}
