package shipped

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
)

// TestShippedMappings loads every shipped mapping and runs its cases.
func TestShippedMappings(t *testing.T) {
	names := Names()
	if len(names) < 4 {
		t.Fatalf("want the four shipped mappings, got %v", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, _ := Path(name)
			if _, err := mapping.Load(FS, p, nil); err != nil {
				t.Fatalf("load: %v", err)
			}
			cp, ok := CasesPath(name)
			if !ok {
				t.Fatalf("no test cases beside %s", p)
			}
			results, err := casetest.Run(FS, cp)
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
}
