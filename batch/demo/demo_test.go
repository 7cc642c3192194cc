package demo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	// the vendor modules, so that the demo's sections load
	_ "github.com/fhirbridge/fhirbridge/connectors/all"
)

// TestDemoConfig: the demo's configuration nests each part's section
// under connectors.<name> and its routes under routes, and loads.
func TestDemoConfig(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	parts := []part{
		{"solo", &bridge.DemoRun{Section: "base_url: \"http://127.0.0.1:1\"\napi_key: {file: \"" + key + "\"}\n",
			Routes: "- {name: p, resource: Patient, mapping: solo/patient, connector: solo}\n"}},
		{"tuotempo", &bridge.DemoRun{Section: "remote: {kind: local, dir: \"" + dir + "\"}\nexports:\n  - {name: d, schedule: \"0 6 * * *\"}"}},
	}
	got := configText(dir, parts)
	want := `data_dir: "` + dir + `"
server: {listen: "127.0.0.1:0"}
connectors:
  solo:
    base_url: "http://127.0.0.1:1"
    api_key: {file: "` + key + `"}
  tuotempo:
    remote: {kind: local, dir: "` + dir + `"}
    exports:
      - {name: d, schedule: "0 6 * * *"}
routes:
  - {name: p, resource: Patient, mapping: solo/patient, connector: solo}
`
	if got != want {
		t.Fatalf("configText:\n%s\nwant:\n%s", got, want)
	}
	p := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(p, []byte(got), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p, nil); err != nil {
		t.Errorf("the demo's configuration does not load: %v", err)
	}
}

// TestDemoTextHelpers: the indenting of the parts' YAML and the wrapping
// of their summaries in demo --help.
func TestDemoTextHelpers(t *testing.T) {
	cases := []struct {
		name, got, want string
	}{
		{"indent skips empty lines", Indent("a: 1\n\nb: 2\n", "  "), "  a: 1\n\n  b: 2\n"},
		{"indent ends the last line", Indent("a: 1", "  "), "  a: 1\n"},
		{"indent of nothing", Indent("", "  "), ""},
		{"wrap keeps a short line", Wrap("  solo: short.", 76, "    "), "  solo: short.\n"},
		{"wrap breaks with the continuation indent", Wrap("  x: aaa bbb ccc", 10, "    "), "  x: aaa\n    bbb\n    ccc\n"},
		{"wrap keeps a long word whole", Wrap("  x: abcdefghijkl", 8, "    "), "  x:\n    abcdefghijkl\n"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
