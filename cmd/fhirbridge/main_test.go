package main

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// run executes the CLI in-process and returns stdout, stderr and the exit
// status main would use.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		var reported bool
		if code, reported = exitStatus(err); !reported {
			errb.WriteString("fhirbridge: " + err.Error() + "\n")
		}
	}
	return out.String(), errb.String(), code
}

// repoRoot is the module root, where fixtures/ lives.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func golden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/fhirbridge -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test ./cmd/fhirbridge -update rewrites it after review)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

func TestMapGolden(t *testing.T) {
	root := repoRoot(t)
	demo := filepath.Join(root, "fixtures", "demo")
	cases := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"tuotempo-export.csv", []string{"map", "--mapping", "tuotempo/export", "--in", filepath.Join(demo, "appointments.json"), "--param", "timezone=Europe/Madrid"}, 0},
		{"tuotempo-export-semicolon-crlf.csv", []string{"map", "--mapping", "tuotempo/export", "--in", filepath.Join(demo, "appointments.json"), "--param", "timezone=Europe/Madrid", "--delimiter", ";", "--crlf"}, 0},
		{"tuotempo-export.ndjson", []string{"map", "--mapping", "tuotempo/export", "--in", filepath.Join(demo, "appointments.json"), "--format", "ndjson"}, 0},
		{"solo-patient.ndjson", []string{"map", "--mapping", "solo/patient", "--in", filepath.Join(demo, "appointments.json")}, 0},
		{"solo-appointment.json", []string{"map", "--mapping", "solo/appointment", "--in", filepath.Join(demo, "appointments.json"), "--param", "waiting_room=Telehealth", "--format", "json"}, 0},
		{"tuotempo-cancellation.ndjson", []string{"map", "--mapping", "tuotempo/cancellation", "--in", filepath.Join(demo, "cancellations.csv")}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := run(t, "", append(c.args, "--quiet")...)
			if code != c.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.wantCode, stderr)
			}
			golden(t, c.name, out)
			if c.wantCode != 0 {
				golden(t, c.name+".stderr", stderr)
			}
		})
	}
}

func TestMapEmptyInputWritesHeader(t *testing.T) {
	out, stderr, code := run(t, "", "map", "--mapping", "tuotempo/export", "--in", "-", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, "APP_LID,APP_DATE,APP_START_TIME,") || strings.Count(out, "\n") != 1 {
		t.Errorf("an empty export must be just the header row, got %q", out)
	}
}

func TestMapReportsBadRecordsAndMapsTheRest(t *testing.T) {
	in := `{"resourceType":"Patient","id":"p1","gender":"female"}
{"resourceType":"Patient","id":"p2","gender":"female","gender":"male"}

{"resourceType":"Patient","id":"p3","deceasedBoolean":true,"name":[{"use":"official","family":"CANARY-5d1"}]}
{"resourceType":"Patient","id":"p4","birthDate":"1970-01-01"}
`
	out, stderr, code := run(t, in, "map", "--mapping", "solo/patient", "--in", "-")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if n := strings.Count(out, "\n"); n != 2 {
		t.Errorf("want the 2 good records written, got %d lines:\n%s", n, out)
	}
	for _, want := range []string{"line 2: ", "duplicate key", "line 4: ", "field deceasedAt", "4 read, 2 written, 0 skipped, 2 failed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "CANARY") {
		t.Errorf("a patient value leaked into stderr:\n%s", stderr)
	}
}

func TestMapUnknownMappingAndBadParam(t *testing.T) {
	_, stderr, code := run(t, "", "map", "--mapping", "nope/nothing", "--in", "-")
	if code != 2 || !strings.Contains(stderr, "no mapping \"nope/nothing\"") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = run(t, "", "map", "--mapping", "tuotempo/export", "--in", "-", "--param", "timezone=Mars/Olympus")
	if code != 2 || !strings.Contains(stderr, "unknown time zone") {
		t.Errorf("a bad time zone must be refused at load: exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = run(t, "", "map", "--mapping", "tuotempo/export", "--in", "-", "--param", "colour=blue")
	if code != 2 || !strings.Contains(stderr, "colour") {
		t.Errorf("an unknown parameter must be refused: exit %d, stderr %q", code, stderr)
	}
}

func TestMappingsShowPassesCheck(t *testing.T) {
	out, _, code := run(t, "", "mappings")
	if code != 0 {
		t.Fatal("mappings failed")
	}
	for _, name := range []string{"tuotempo/export", "tuotempo/cancellation", "solo/patient", "solo/appointment"} {
		if !strings.Contains(out, name) {
			t.Errorf("mappings does not list %s", name)
		}
		yaml, stderr, code := run(t, "", "mappings", "show", name)
		if code != 0 {
			t.Fatalf("show %s: %s", name, stderr)
		}
		dir := t.TempDir()
		f := filepath.Join(dir, "m.yaml")
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		// the code map the mapping reads travels with it
		if name == "solo/appointment" {
			copyShipped(t, "solo/waiting-rooms.csv", filepath.Join(dir, "waiting-rooms.csv"))
		}
		if _, stderr, code := run(t, "", "check", f); code != 0 {
			t.Errorf("mappings show %s does not pass check unchanged: %s", name, stderr)
		}
	}
}

func TestCheckReportsFileLineCol(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "bad.yaml")
	src := "name: x\nversion: 1\ndirection: forward\nsource: Patient\noutput: row\nfields:\n  - target: A\n    from: name.frobnicate()\n"
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "", "check", f)
	if code != 1 || !strings.Contains(stderr, "bad.yaml:8:") || !strings.Contains(stderr, "frobnicate") {
		t.Errorf("exit %d, stderr %q: want bad.yaml:8:col naming the unknown function", code, stderr)
	}
}

func TestShippedCasesPass(t *testing.T) {
	out, _, code := run(t, "", "test")
	if code != 0 || !strings.Contains(out, " 0 failed") {
		t.Errorf("fhirbridge test: exit %d\n%s", code, out)
	}
}

func TestHelpOnEveryCommand(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"map", "--help"}, {"check", "--help"}, {"test", "--help"}, {"mappings", "--help"}, {"mappings", "show", "--help"}, {"version", "--help"}} {
		out, _, code := run(t, "", args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("%v: exit %d, no usage", args, code)
		}
	}
	out, _, _ := run(t, "", "version")
	if !strings.HasPrefix(out, "fhirbridge ") {
		t.Errorf("version printed %q", out)
	}
}

func copyShipped(t *testing.T, name, to string) {
	t.Helper()
	b, err := fs.ReadFile(shipped.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMapOutFileIsAtomicAndReadable(t *testing.T) {
	root := repoRoot(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "export.csv")
	_, stderr, code := run(t, "", "map", "--mapping", "tuotempo/export", "--in", filepath.Join(root, "fixtures", "demo", "appointments.json"), "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o044 == 0 {
		t.Errorf("output mode %v: a file for another system to pick up must be readable beyond its owner", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	// a run that cannot start leaves no file at all
	missing := filepath.Join(dir, "never.csv")
	if _, _, code := run(t, "", "map", "--mapping", "tuotempo/export", "--in", filepath.Join(dir, "no-such-input.json"), "--out", missing); code != 2 {
		t.Errorf("exit %d for a missing input, want 2", code)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("an output file was created for a run that could not start")
	}
}

func TestCheckConfig(t *testing.T) {
	example := filepath.Join(repoRoot(t), "fixtures", "config", "fhirbridge.example.yaml")
	t.Setenv("SOLO_API_KEY", "CANARY-KEY-31")
	t.Setenv("SMTP_PASSWORD", "CANARY-SMTP-32")
	t.Setenv("TUOTEMPO_PASSWORD", "CANARY-SFTP-34")
	t.Setenv("EHR_TOKEN", "CANARY-EHR-33")
	out, stderr, code := run(t, "", "check", "--config", example)
	if code != 0 || !strings.HasPrefix(out, "ok  ") {
		t.Fatalf("the example config must pass: exit %d\n%s", code, stderr)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`connectors:
  solo: {base_url: "https://s.example", api_key: {env: SOLO_API_KEY}}
  tuotempo:
    remote: {kind: local, dir: /tmp}
    exports: [{name: e1, schedule: "61 2 * * *"}, {name: e2, schedule: "0 2 * * *", mapping: solo/patient}]
    cancellations: [{name: c1, mapping: tuotempo/export}]
routes:
  - {name: r1, resource: Appointment, mapping: solo/patient, connector: solo}
  - {name: r2, resource: Patient, mapping: solo/patient, connector: tyto}
  - {name: r3, resource: Patient, when: "name.frobnicate()", mapping: solo/patient, connector: solo}
  - {name: r4, resource: Patient, mapping: solo/patient, connector: vendorx}
`), 0o600)
	_, stderr, code = run(t, "", "check", "--config", bad)
	for _, want := range []string{"routes[0] (r1): mapping solo/patient maps Patient", "routes[1] (r2): connector tyto is not configured (connectors.tyto)", "routes[2] (r3): when:",
		`routes[3] (r4): unknown connector "vendorx" (known: bandyer, solo, tuotempo, tyto, vsee)`, "frobnicate",
		"exports[0] (e1)", "cancellations[0] (c1): mapping tuotempo/export is not a reverse mapping"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("check --config output lacks %q:\n%s", want, stderr)
		}
	}
	if code != 1 || strings.Contains(stderr+out, "CANARY") {
		t.Errorf("exit %d; the secret must never print", code)
	}
}

func TestTokenNew(t *testing.T) {
	out, _, code := run(t, "", "token", "new")
	if code != 0 {
		t.Fatal("token new failed")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[0][strings.LastIndex(lines[0], " ")+1:]
	want := "- sha256:" + string(server.HashToken(tok))
	if len(tok) != 43 || strings.TrimSpace(lines[len(lines)-1]) != want {
		t.Errorf("token %q and config line %q do not match", tok, lines[len(lines)-1])
	}
}
