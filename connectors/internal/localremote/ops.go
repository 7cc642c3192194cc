package localremote

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/internal/xfer"
)

// List implements connectors.Remote; temporary upload files are left out.
func (r *remote) List(_ context.Context, dir string) ([]connectors.FileInfo, error) {
	clean, err := xfer.CleanDir(dir)
	if err != nil {
		return nil, badName("listing local folder", err)
	}
	action := fmt.Sprintf("listing folder %q of local folder %s", clean, r.dir)
	if clean != "" {
		if err := r.noSymlink(action, clean); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(r.path(clean))
	if err != nil {
		return nil, classify(action, err)
	}
	var out []connectors.FileInfo
	for _, e := range entries {
		if !e.Type().IsRegular() || xfer.IsTemp(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, classify(action, err)
		}
		out = append(out, connectors.FileInfo{Name: path.Join(clean, e.Name()), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return out, nil // os.ReadDir sorts by name
}

// Stat implements connectors.Remote.
func (r *remote) Stat(_ context.Context, name string) (connectors.FileInfo, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return connectors.FileInfo{}, badName("reading local folder", err)
	}
	if err := r.noSymlink("reading the size of "+r.where(clean), clean); err != nil {
		return connectors.FileInfo{}, err
	}
	fi, err := os.Lstat(r.path(clean))
	if err != nil {
		return connectors.FileInfo{}, classify("reading the size of "+r.where(clean), err)
	}
	if !fi.Mode().IsRegular() {
		return connectors.FileInfo{}, connectors.Permanently(fmt.Errorf("reading the size of %s: not a regular file", r.where(clean)))
	}
	return connectors.FileInfo{Name: clean, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Open implements connectors.Remote.
func (r *remote) Open(_ context.Context, name string) (io.ReadCloser, error) {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return nil, badName("reading local folder", err)
	}
	if err := r.noSymlink("opening "+r.where(clean), clean); err != nil {
		return nil, err
	}
	f, err := os.Open(r.path(clean))
	if err != nil {
		return nil, classify("opening "+r.where(clean), err)
	}
	return f, nil
}

// Move implements connectors.Remote, creating to's folder.
func (r *remote) Move(_ context.Context, from, to string) error {
	cf, err := cleanSource(from)
	if err != nil {
		return badName("moving in local folder", err)
	}
	ct, err := xfer.CleanName(to)
	if err != nil {
		return badName("moving in local folder", err)
	}
	action := fmt.Sprintf("moving %s to %s", r.where(strconv.Quote(cf)), ct)
	if err := r.noSymlink(action, cf); err != nil {
		return err
	}
	if err := r.noSymlink(action, ct); err != nil {
		return err
	}
	if _, err := os.Lstat(r.path(cf)); err != nil {
		return classify(action, err)
	}
	if err := os.MkdirAll(filepath.Dir(r.path(ct)), 0o755); err != nil {
		return classify(action, err)
	}
	if err := rename(r.path(cf), r.path(ct)); err != nil {
		return classify(action, err)
	}
	return nil
}

// Remove implements connectors.Remote.
func (r *remote) Remove(_ context.Context, name string) error {
	clean, err := xfer.CleanName(name)
	if err != nil {
		return badName("removing from local folder", err)
	}
	if err := r.noSymlink("removing "+r.where(clean), clean); err != nil {
		return err
	}
	if err := os.Remove(r.path(clean)); err != nil && !os.IsNotExist(err) {
		return classify("removing "+r.where(clean), err)
	}
	return nil
}
