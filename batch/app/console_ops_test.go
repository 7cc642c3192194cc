package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
	"github.com/fhirbridge/fhirbridge/batch/store"
	_ "github.com/fhirbridge/fhirbridge/connectors/tuotempo"
)

// TestServeConsoleOpsPages: serve gives the operations pages its delivery
// runner and modules: the dashboard shows the EHR write-back's vendor and
// circuit and the tuOtempO export job with its next run, and Exports and
// files offers that job's run now to an operator.
func TestServeConsoleOpsPages(t *testing.T) {
	dir := t.TempDir()
	remote := filepath.Join(dir, "remote")
	if err := os.Mkdir(remote, 0o750); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "fhirbridge.yaml")
	src := "data_dir: " + dir + "\nserver: {listen: '127.0.0.1:0'}\nehr: {fhir_base_url: 'http://127.0.0.1:9/fhir'}\n" +
		"connectors:\n  tuotempo:\n    remote: {kind: local, dir: " + remote + "}\n    exports: [{name: nightly, schedule: '30 2 * * *', timezone: UTC}]\n"
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := console.AddUser(context.Background(), st, "oncall", console.RoleOperator, "oncall-password", consoletest.FastParams, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := Start(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	base := "http://" + addr
	client, err := consoletest.Login(base, "oncall", "oncall-password")
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	dash := get("/console/dashboard")
	for _, want := range []string{"<td>ehr</td>", `class="circuit-closed"`, "<td>nightly</td>", "30 2 * * * UTC", "Store size: "} {
		if !strings.Contains(dash, want) {
			t.Errorf("dashboard under serve lacks %q:\n%s", want, dash)
		}
	}
	if files := get("/console/files"); !strings.Contains(files, `action="/console/files/exports/nightly/run"`) {
		t.Errorf("Exports and files under serve lacks the run now of nightly:\n%s", files)
	}
}
