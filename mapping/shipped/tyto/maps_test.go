package tyto

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
)

// TestMappings loads each mapping and runs its cases.
func TestMappings(t *testing.T) {
	files, _ := fs.Glob(FS, "*.yaml")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".cases.yaml") {
			continue
		}
		n++
		t.Run(f, func(t *testing.T) {
			if _, err := mapping.Load(FS, f, nil); err != nil {
				t.Fatalf("load: %v", err)
			}
			results, err := casetest.Run(FS, strings.TrimSuffix(f, ".yaml")+".cases.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if len(results) == 0 {
				t.Fatal("no cases")
			}
			for _, r := range results {
				if !r.Pass {
					t.Errorf("case %q: %v %v", r.Name, r.Err, r.Diff)
				}
			}
		})
	}
	if n != 4 {
		t.Fatalf("%d mappings, want 4", n)
	}
}
