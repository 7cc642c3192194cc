package mapping

import (
	"os"
	"testing"

	"github.com/goccy/go-yaml"
)

// TestR4Check runs the table in testdata/r4check/cases.yaml: paths R4
// defines are accepted, others refused with where and the nearest name.
func TestR4Check(t *testing.T) {
	data, err := os.ReadFile("testdata/r4check/cases.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Src, Err string
		OK             bool
	}
	if err := yaml.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, err := Parse("m.yaml", []byte(tc.Src), nil, ".", nil)
			switch {
			case tc.OK && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.OK && err == nil:
				t.Fatalf("accepted, want %s", tc.Err)
			case !tc.OK && err.Error() != tc.Err:
				t.Fatalf("error\n %s\nwant\n %s", err, tc.Err)
			}
		})
	}
}
