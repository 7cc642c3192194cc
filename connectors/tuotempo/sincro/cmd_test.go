package sincro

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// section stands in for the tuOtempO module's Config.
type section struct{ Sincro *Config }

// testCommand: `sincro grant` over the shipped view table publishes the
// views whose mappings are shipped, creates the role with the password
// from the environment (never printed) and prints the grants.
func testCommand(t *testing.T, e *pgEnv) {
	url, _ := e.open(t)
	old := bridge.LoadCommandConfig
	defer func() { bridge.LoadCommandConfig = old }()
	bridge.LoadCommandConfig = func(name, path string) (*bridge.CommandConfig, error) {
		if name != "tuotempo" || path != "x.yaml" {
			t.Errorf("LoadCommandConfig(%q, %q)", name, path)
		}
		return &bridge.CommandConfig{
			Section:   &section{Sincro: &Config{Role: "sincro_cmd"}},
			OpenStore: func(ctx context.Context) (*store.Store, error) { return store.Open(ctx, url) },
		}, nil
	}
	const pw = "env-Pass-42"
	t.Setenv("SINCRO_TEST_PW", pw)
	cmd := Command("tuotempo", func(s any) *Config { return s.(*section).Sincro })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"grant", "--config", "x.yaml", "--password-env", "SINCRO_TEST_PW"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("sincro grant: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{`GRANT SELECT ON "tuotempo"."TT_RESOURCES" TO "sincro_cmd";`, `GRANT SELECT ON "tuotempo"."TT_RESERVATIONS" TO "sincro_cmd";`,
		`GRANT USAGE ON SCHEMA "tuotempo" TO "sincro_cmd";`, `ON "tuotempo"."TT_RESERVATIONS_TMP" TO "sincro_cmd";`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, pw) || strings.Contains(got, "SCRAM") {
		t.Errorf("output shows the password:\n%s", got)
	}
	role, _ := sql.Open("pgx", strings.Replace(url, "postgres://postgres@", "postgres://sincro_cmd:"+pw+"@", 1))
	defer role.Close()
	if _, err := role.Exec(`SELECT * FROM tuotempo."TT_RESOURCES"`); err != nil {
		t.Errorf("role cannot read TT_RESOURCES: %v", err)
	}
	cmd.SetArgs([]string{"grant", "--config", "x.yaml", "--password-env", "SINCRO_UNSET_VAR"})
	if err := cmd.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "SINCRO_UNSET_VAR") {
		t.Errorf("unset password variable: %v", err)
	}
}
