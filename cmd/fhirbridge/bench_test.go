package main

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fhirbridge/fhirbridge/fixtures"
)

// TestBenchMappingEqualsPeers maps the benchmark's patients with
// fixtures/bench/solo-bench.yaml and compares, as canonical JSON, with the
// hand-written Go peer's output (what the shared check.sh compares).
func TestBenchMappingEqualsPeers(t *testing.T) {
	root := repoRoot(t)
	mappingFile := filepath.Join(root, "fixtures", "bench", "solo-bench.yaml")
	for _, c := range []struct{ in, want string }{
		{"bench/example-patient.ndjson", "bench/example-solo.ndjson"},
		{"bench/patients-200.ndjson", "bench/solo-200.ndjson"},
	} {
		t.Run(c.in, func(t *testing.T) {
			in, err := fs.ReadFile(fixtures.Bench, c.in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fs.ReadFile(fixtures.Bench, c.want)
			if err != nil {
				t.Fatal(err)
			}
			out, stderr, code := run(t, string(in), "map", "--mapping", mappingFile, "--in", "-", "--quiet")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, exp := lines(t, out), lines(t, string(want))
			if len(got) != len(exp) {
				t.Fatalf("%d records, want %d", len(got), len(exp))
			}
			for i := range exp {
				if d := cmp.Diff(exp[i], got[i]); d != "" {
					t.Errorf("record %d differs from the gostruct peer (-want +got):\n%s", i+1, d)
					if i > 3 {
						t.FailNow()
					}
				}
			}
		})
	}
}

func lines(t *testing.T, s string) []any {
	t.Helper()
	var out []any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("output line is not JSON: %v", err)
		}
		out = append(out, v)
	}
	return out
}
