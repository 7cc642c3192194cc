package solomod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/yeka/zip"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// importEnv is a Solo simulator and a config pointing at it, read by
// testLoader.
func importEnv(t *testing.T) (*solosim.Sim, string, string) {
	t.Helper()
	useTestLoader(t)
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	sim.ReportRowsPerDay(6)
	dir := t.TempDir()
	t.Setenv("TEST_SOLO_KEY", solosim.DefaultAPIKey)
	t.Setenv("TEST_ZIP_PW", "zip-secret")
	cfg := filepath.Join(dir, "cfg.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
connectors:
  solo:
    base_url: `+srv.URL+`
    api_key: {env: TEST_SOLO_KEY}
    reports:
      zip_password: {env: TEST_ZIP_PW}
      preset_id: a2c6e3fc-c2f7-4a24-a0d6-eb2343a15469
      poll_interval: 1ms
      poll_max_interval: 2ms
      poll_timeout: 10s
`), 0o600)
	return sim, cfg, dir
}

// useTestLoader sets bridge.LoadCommandConfig, for the test, to
// testLoader.
func useTestLoader(t *testing.T) {
	t.Helper()
	prev := bridge.LoadCommandConfig
	bridge.LoadCommandConfig = testLoader
	t.Cleanup(func() { bridge.LoadCommandConfig = prev })
}

// testLoader reads what the import needs of a test configuration: its
// data_dir (the SQLite store fhirbridge.db in it) and connectors.solo,
// with the section's defaults; its router has no routes. The
// application's own loader is tested end to end in cmd/fhirbridge.
func testLoader(name, path string) (*bridge.CommandConfig, error) {
	if name != solo.Name {
		return nil, fmt.Errorf("loading the config for %q, not solo", name)
	}
	if path == "" {
		path = os.Getenv("FHIRBRIDGE_CONFIG")
	}
	var doc struct {
		DataDir    string `yaml:"data_dir"`
		Connectors struct {
			Solo *Config `yaml:"solo"`
		} `yaml:"connectors"`
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	cc := &bridge.CommandConfig{DataDir: doc.DataDir,
		OpenStore: func(ctx context.Context) (*store.Store, error) {
			if err := os.MkdirAll(doc.DataDir, 0o750); err != nil {
				return nil, err
			}
			return store.Open(ctx, "sqlite://"+filepath.Join(doc.DataDir, "fhirbridge.db"))
		},
		Router: func() (*delivery.Router, error) { return &delivery.Router{}, nil }}
	if doc.Connectors.Solo != nil {
		if err := doc.Connectors.Solo.CheckSection(); err != nil {
			return nil, err
		}
		cc.Section = doc.Connectors.Solo
	}
	return cc, nil
}

func runTestImport(t *testing.T, f importFlags) (int, string, string, error) {
	t.Helper()
	if f.format == "" {
		f.format = "ndjson"
	}
	if f.mappingSpec == "" {
		f.mappingSpec = "solo/encounter-report"
	}
	var out, errb bytes.Buffer
	code, err := runImport(context.Background(), f, &out, &errb)
	return code, out.String(), errb.String(), err
}

func TestImportSoloDataDump(t *testing.T) {
	_, cfg, _ := importEnv(t)
	code, out, summary, err := runTestImport(t, importFlags{configFile: cfg, from: "2026-03-01", to: "2026-03-02"})
	if code != 0 || err != nil {
		t.Fatalf("code %d err %v\n%s", code, err, summary)
	}
	if n := strings.Count(out, `"resourceType":"Encounter"`); n != 12 {
		t.Errorf("%d Encounters", n)
	}
	for _, want := range []string{"rows: 12 read, 12 mapped, 0 refused", "by day: 2026-03-01=6 2026-03-02=6"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
}

func TestImportSoloEncounterReportToStore(t *testing.T) {
	_, cfg, dir := importEnv(t)
	code, _, summary, err := runTestImport(t, importFlags{configFile: cfg, encounterReport: true, from: "2026-03-01", to: "2026-03-01", toStore: true})
	if code != 0 || err != nil {
		t.Fatalf("code %d err %v\n%s", code, err, summary)
	}
	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "data", "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := 0
	st.Current(context.Background(), "Encounter", func(string, int, []byte) error { n++; return nil })
	if n != 6 {
		t.Errorf("%d Encounters stored\n%s", n, summary)
	}
}

// TestImportSoloBadZipAppliesNothing: a wrong password and a truncated
// archive fail with exit 2 and leave no output file and nothing stored.
func TestImportSoloBadZipAppliesNothing(t *testing.T) {
	_, cfg, dir := importEnv(t)
	var zb bytes.Buffer
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	solosim.WriteReportZip(&zb, "zip-secret", zip.StandardEncryption, func(w io.Writer) error {
		return solosim.WriteReport(w, from, from.AddDate(0, 0, 30), 50)
	})
	good := filepath.Join(dir, "good.zip")
	os.WriteFile(good, zb.Bytes(), 0o600)
	cut := filepath.Join(dir, "cut.zip")
	os.WriteFile(cut, zb.Bytes()[:zb.Len()-100], 0o600)
	t.Setenv("WRONG_PW", "zip-secreT")
	cases := []struct {
		name, file, pwEnv, want string
	}{
		{"wrong password", good, "WRONG_PW", "password is wrong"},
		{"truncated", cut, "", "truncated or corrupt"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name+".ndjson")
			code, _, _, err := runTestImport(t, importFlags{configFile: cfg, file: tt.file, passwordEnv: tt.pwEnv, out: out})
			if code != 2 || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("code %d err %v", code, err)
			}
			if _, serr := os.Stat(out); !errors.Is(serr, os.ErrNotExist) {
				t.Error("an output file was written")
			}
			code, _, _, err = runTestImport(t, importFlags{configFile: cfg, file: tt.file, passwordEnv: tt.pwEnv, toStore: true})
			if code != 2 || err == nil {
				t.Fatalf("to-store: code %d err %v", code, err)
			}
			if db := filepath.Join(dir, "data", "fhirbridge.db"); fileExists(db) {
				st, err := store.Open(context.Background(), "sqlite://"+db)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				st.Current(context.Background(), "Encounter", func(string, int, []byte) error { n++; return nil })
				st.Close()
				if n != 0 {
					t.Errorf("%d Encounters stored", n)
				}
			}
		})
	}
	// the right password imports all 31 × 50 rows
	code, out, _, err := runTestImport(t, importFlags{configFile: cfg, file: good, format: "bundle"})
	if code != 0 || err != nil || strings.Count(out, `"resourceType":"Encounter"`) != 1550 {
		t.Fatalf("good zip: code %d err %v", code, err)
	}
}

func TestImportSoloRefusals(t *testing.T) {
	_, cfg, dir := importEnv(t)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("appointmentId,status,date,Patient Name\n1,completed,2026-01-01T00:00:00Z,x\n"), 0o600)
	code, out, _, err := runTestImport(t, importFlags{file: bad})
	if code != 2 || out != "" || err == nil || !strings.Contains(err.Error(), `unexpected 1: "Patient Name"`) || !strings.Contains(err.Error(), `missing 15: "externalId"`) {
		t.Fatalf("column mismatch: code %d out %q err %v", code, out, err)
	}
	// one bad row: exit 1, the others imported, the line listed
	var b bytes.Buffer
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	solosim.WriteReport(&b, from, from, 4)
	rows := strings.Split(b.String(), "\r\n")
	rows[3] = strings.Replace(rows[3], ",900,", ",900,bogus status,", 1)
	rows[3] = strings.Replace(rows[3], "bogus status,completed", "bogus status", 1)
	some := filepath.Join(dir, "some.csv")
	os.WriteFile(some, []byte(strings.Join(rows, "\r\n")), 0o600)
	code, _, summary, err := runTestImport(t, importFlags{configFile: cfg, file: some})
	if code != 1 || err != nil || !strings.Contains(summary, "refused line 4:") {
		t.Fatalf("code %d err %v\n%s", code, err, summary)
	}
	for _, flags := range []importFlags{{}, {file: some, from: "2026-03-01", to: "2026-03-02"}, {from: "2026-03-01"}, {file: some, format: "csv"}} {
		if code, _, _, err := runTestImport(t, flags); code != 2 || err == nil {
			t.Errorf("flags %+v: code %d", flags, code)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
