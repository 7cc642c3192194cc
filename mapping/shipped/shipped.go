// Package shipped holds the mappings embedded in the fhirbridge binary.
// Each mapping NAME (e.g. "tuotempo/export") is the file NAME.yaml in FS,
// with its test cases as data in NAME.cases.yaml beside it. A site
// overrides a shipped mapping by passing a file path instead of the name.
package shipped

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

// FS holds the shipped mapping files, their test cases and code maps.
//
//go:embed tuotempo solo tyto bandyer vsee hl7v2
var FS embed.FS

// Names lists the shipped mappings, sorted.
func Names() []string {
	var names []string
	_ = fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".cases.yaml") {
			names = append(names, strings.TrimSuffix(p, ".yaml"))
		}
		return nil
	})
	sort.Strings(names)
	return names
}

// Path returns the path in FS of the mapping NAME and whether it exists.
func Path(name string) (string, bool) {
	p := name + ".yaml"
	if _, err := fs.Stat(FS, p); err != nil {
		return "", false
	}
	return p, true
}

// CasesPath returns the path in FS of the test cases of mapping NAME.
func CasesPath(name string) (string, bool) {
	p := name + ".cases.yaml"
	if _, err := fs.Stat(FS, p); err != nil {
		return "", false
	}
	return p, true
}
