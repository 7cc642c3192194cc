package localremote

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// errSymlink refuses a name that passes through a symbolic link below the
// base folder: a symlinked processed/ or error/ folder, or a symlinked
// file, could make the bridge read or write outside the folder it was
// given, so it is never followed.
var errSymlink = errors.New("a symbolic link is in the way; symbolic links below the base folder are not followed")

// noSymlink checks every component of the clean relative name that
// exists on disk, with Lstat: none may be a symbolic link. Components not
// yet there (a folder Move or Put will create) are fine.
func (r *remote) noSymlink(action, clean string) error {
	p := r.dir
	for _, part := range strings.Split(filepath.FromSlash(clean), string(filepath.Separator)) {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return classify(action, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return connectors.Permanently(fmt.Errorf("%s: %w", action, errSymlink))
		}
	}
	return nil
}

// cleanSource checks the source name of a Move: like xfer.CleanName, but
// a name with control characters (a vendor's file name with a line break)
// is accepted, so that such a file can be moved aside to the error folder
// instead of staying in the inbound folder forever. NUL is still refused.
func cleanSource(name string) (string, error) {
	if name == "" || strings.HasSuffix(name, "/") || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\x00\\") {
		return "", fmt.Errorf("invalid file name %q: want a file relative to the base folder", name)
	}
	c := filepath.ToSlash(filepath.Clean(filepath.FromSlash(name)))
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("invalid name %q: outside the base folder", name)
	}
	return c, nil
}
