package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tyto"
)

// TestModuleSections: a vendor module's section (Tyto's) is decoded into
// the module's own struct as strictly as the rest of the file, overridden
// by FHIRBRIDGE_CONNECTORS__TYTO__… and checked for empty secrets, with
// the config package naming no vendor.
func TestModuleSections(t *testing.T) {
	const canary = "CANARY-TYTO-PW-41"
	t.Setenv("TYTO_PW", canary)
	tenant := `
connectors:
  tyto:
    tenants:
      main: {portal_url: "https://portal.example", username: u, password: {env: TYTO_PW}}
`
	cases := []struct {
		name    string
		yaml    string
		env     []string
		wantErr string // "" for success
		check   func(t *testing.T, c *Config)
	}{
		{name: "decoded into the module's struct", yaml: tenant, check: func(t *testing.T, c *Config) {
			cfg, ok := c.ConnectorSection("tyto").(*tyto.Config)
			if !ok {
				t.Fatalf("section is %T", c.ConnectorSection("tyto"))
			}
			if cfg.Tenants["main"].Password.Reveal() != canary || cfg.Tenants["main"].PortalURL != "https://portal.example" {
				t.Errorf("tenant = %+v", cfg.Tenants["main"])
			}
		}},
		{name: "overrides", yaml: tenant, env: []string{"FHIRBRIDGE_CONNECTORS__TYTO__TIMEOUT=5s", "FHIRBRIDGE_CONNECTORS__TYTO__DEFAULT_TENANT=main"},
			check: func(t *testing.T, c *Config) {
				cfg := c.ConnectorSection("tyto").(*tyto.Config)
				if time.Duration(cfg.Timeout) != 5*time.Second || cfg.DefaultTenant != "main" {
					t.Errorf("timeout %v, default %q", cfg.Timeout, cfg.DefaultTenant)
				}
			}},
		{name: "absent", yaml: "connectors: {}\n", check: func(t *testing.T, c *Config) {
			if c.ConnectorSection("tyto") != nil {
				t.Error("an absent section is configured")
			}
		}},
		{name: "unknown key at its line", yaml: tenant + "    timeuot: 5s\n", wantErr: `[6:5] unknown field "timeuot"`},
		{name: "unknown section", yaml: "connectors:\n  tytocare: {}\n", wantErr: `[2:3] unknown connector section "tytocare" (known: solo, tuotempo, tyto)`},
		{name: "a written password", yaml: strings.Replace(tenant, "{env: TYTO_PW}", "hunter2", 1), wantErr: "a secret is {env: NAME} or {file: PATH}"},
		{name: "empty password in the file", yaml: strings.Replace(tenant, "{env: TYTO_PW}", `""`, 1),
			wantErr: "connectors.tyto.tenants.main.password: empty value for a security setting"},
		{name: "bad duration override", yaml: tenant, env: []string{"FHIRBRIDGE_CONNECTORS__TYTO__TIMEOUT=soon"}, wantErr: "FHIRBRIDGE_CONNECTORS__TYTO__TIMEOUT: invalid duration"},
		{name: "misspelt override", yaml: tenant, env: []string{"FHIRBRIDGE_CONNECTORS__TYTO__TIMEUOT=5s"}, wantErr: "unknown configuration variable FHIRBRIDGE_CONNECTORS__TYTO__TIMEUOT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, tc.env)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Load error = %v, want %q", err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), canary):
				t.Fatal("the error shows the password")
			case tc.check != nil:
				tc.check(t, c)
				if s := fmt.Sprintf("%v %+v %#v", c.Connectors.Modules, c.ConnectorSection("tyto"), c.ConnectorSection("tyto")); strings.Contains(s, canary) {
					t.Error("the section prints the password")
				}
			}
		})
	}
	var _ connectors.Secret = tyto.Secret("")
}
