package mapping_test

import (
	"os"
	"path"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping/casetest"
)

// TestCases runs every testdata/*.cases.yaml against the mapping beside it.
func TestCases(t *testing.T) {
	fsys := os.DirFS("testdata")
	files, err := casesFiles("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cases files")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(f, ".cases.yaml"), func(t *testing.T) {
			results, err := casetest.Run(fsys, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if !r.Pass {
					t.Errorf("case %q: %v (err: %v)", r.Name, r.Diff, r.Err)
				}
			}
		})
	}
}

// casesFiles lists the *.cases.yaml files in dir.
func casesFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if ok, _ := path.Match("*.cases.yaml", e.Name()); ok {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
