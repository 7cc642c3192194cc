package shipped

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/fhirbridge/fhirbridge/mapping"
)

// ErrNotFound is wrapped by Resolve's error when spec names neither a file
// nor a shipped mapping.
var ErrNotFound = errors.New("not a mapping file nor a shipped mapping")

// Source is where Resolve found a mapping: the file File in FS. For a file
// of the machine FS is the file's folder, so that the lookup CSVs the
// mapping names are read beside it.
type Source struct {
	FS   fs.FS
	File string
	// Path is what the spec resolved to, for messages and for callers that
	// take a spec: the file's absolute slash-separated path, or the
	// shipped name.
	Path string
	// Shipped is true when the spec named a shipped mapping.
	Shipped bool
}

// Load compiles the mapping of s with the run-time parameters params.
func (s Source) Load(params map[string]string) (*mapping.Mapping, error) {
	return mapping.Load(s.FS, s.File, params)
}

// Resolve finds the mapping spec names, by the one rule of every mapping
// setting of fhirbridge (flags, routes, exports, code maps):
//
//  1. an absolute spec is a file, nothing else;
//  2. a relative spec is first a file in each of dirs, in order (the
//     working directory, then the config file's folder);
//  3. else spec is the name of a shipped mapping, such as "solo/patient".
//
// A file must be a regular file (symbolic links followed). files holds the
// machine's files named by their absolute slash-separated path without its
// leading "/" (os.DirFS("/") does so), and spec and dirs are slash-separated
// (filepath.ToSlash); dirs are absolute. When nothing is found the error
// wraps ErrNotFound and names the files tried and the shipped mappings.
func Resolve(files fs.FS, spec string, dirs ...string) (Source, error) {
	var tried []string
	if path.IsAbs(spec) {
		dirs = []string{"/"}
	}
	if files != nil && spec != "" {
		for _, d := range dirs {
			p := path.Join(d, spec)
			if s, ok := fileSource(files, strings.TrimPrefix(p, "/")); ok {
				s.Path = p
				return s, nil
			}
			tried = append(tried, p)
		}
	}
	if p, ok := Path(spec); ok {
		return Source{FS: FS, File: p, Path: spec, Shipped: true}, nil
	}
	what := "not a shipped mapping"
	if len(tried) > 0 {
		what = "no file " + orList(tried) + ", nor a shipped mapping"
	}
	return Source{}, fmt.Errorf("no mapping %q: %s (%s): %w", spec, what, strings.Join(Names(), ", "), ErrNotFound)
}

// fileSource returns the Source of the regular file p of files.
func fileSource(files fs.FS, p string) (Source, bool) {
	if !fs.ValidPath(p) {
		return Source{}, false
	}
	st, err := fs.Stat(files, p)
	if err != nil || !st.Mode().IsRegular() {
		return Source{}, false
	}
	dir, err := fs.Sub(files, path.Dir(p))
	if err != nil {
		return Source{}, false
	}
	return Source{FS: dir, File: path.Base(p)}, true
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
