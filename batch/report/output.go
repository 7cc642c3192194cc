package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// OpenOutput opens a command's output: standard output for "" or "-",
// a special file (/dev/null) in place, else path written through a
// temporary file in its folder that commit(true) renames into place (with
// an existing file's mode), so a reader never sees half an output;
// commit(false) removes it.
func OpenOutput(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "" || path == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		// /dev/null and other special files are written in place
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("opening output: %w", err)
		}
		return f, func(bool) error { return f.Close() }, nil
	}
	mode := os.FileMode(0o644) // as os.Create would (before the umask); keep an existing file's
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, nil, fmt.Errorf("creating output: %w", err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, nil, fmt.Errorf("creating output: %w", err)
	}
	return tmp, func(ok bool) error {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
			return nil
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			return fmt.Errorf("writing output: %w", err)
		}
		if err := tmp.Close(); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("writing output: %w", err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("renaming output into place: %w", err)
		}
		return nil
	}, nil
}
