package config

import (
	"strings"
	"testing"
	"time"
)

func TestConsoleSection(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{name: "defaults", yaml: "", check: func(t *testing.T, c *Config) {
			if c.Console.Enabled != ConsoleAuto || time.Duration(c.Console.IdleTimeout) != 30*time.Minute ||
				time.Duration(c.Console.AbsoluteTimeout) != 12*time.Hour || c.Console.Listen != "" {
				t.Errorf("defaults: %+v", c.Console)
			}
		}},
		{name: "bool true", yaml: "console:\n  enabled: true\n", check: func(t *testing.T, c *Config) {
			if c.Console.Enabled != ConsoleTrue {
				t.Errorf("enabled = %q", c.Console.Enabled)
			}
		}},
		{name: "bool false", yaml: "console:\n  enabled: false\n", check: func(t *testing.T, c *Config) {
			if c.Console.Enabled != ConsoleFalse {
				t.Errorf("enabled = %q", c.Console.Enabled)
			}
		}},
		{name: "env", env: []string{"FHIRBRIDGE_CONSOLE__LISTEN=127.0.0.1:9090", "FHIRBRIDGE_CONSOLE__IDLE_TIMEOUT=10m"}, check: func(t *testing.T, c *Config) {
			if c.Console.Listen != "127.0.0.1:9090" || time.Duration(c.Console.IdleTimeout) != 10*time.Minute {
				t.Errorf("env: %+v", c.Console)
			}
		}},
		{name: "bad enabled", yaml: "console:\n  enabled: sometimes\n", wantErr: `console.enabled "sometimes": want auto, true or false`},
		{name: "bad listen", yaml: "console:\n  listen: nowhere\n", wantErr: `console.listen "nowhere": want host:port`},
		{name: "same as server", yaml: "console:\n  listen: 127.0.0.1:8080\n", wantErr: "console.listen \"127.0.0.1:8080\": the same address as server.listen"},
		{name: "idle too short", yaml: "console:\n  idle_timeout: 10s\n", wantErr: "console.idle_timeout 10s: from 1m to 24h"},
		{name: "absolute below idle", yaml: "console:\n  idle_timeout: 2h\n  absolute_timeout: 1h\n", wantErr: "console.absolute_timeout 1h0m0s: from console.idle_timeout"},
		{name: "unknown key", yaml: "console:\n  enable: true\n", wantErr: "enable"},
		{name: "oidc", yaml: "console:\n  oidc:\n    issuer: https://idp.example/realms/h\n    client_id: console\n    client_secret: {env: TEST_OIDC_SECRET}\n    redirect_url: https://bridge.example/console/oidc/callback\n    roles: {fhir-ops: operator, fhir-admins: admin}\n",
			check: func(t *testing.T, c *Config) {
				o := c.Console.OIDC
				if o == nil || o.ClientSecret.Reveal() != "oidc-secret" || o.UserClaim != "preferred_username" || o.RoleClaim != "groups" || o.Roles["fhir-admins"] != "admin" {
					t.Errorf("oidc: %+v", o)
				}
				if s := c.ServeSummary(); !strings.Contains(s, "OIDC login at https://idp.example/realms/h") || strings.Contains(s, "oidc-secret") {
					t.Errorf("summary: %s", s)
				}
			}},
		{name: "oidc plain issuer", yaml: "console:\n  oidc:\n    issuer: http://idp.example\n    client_id: c\n    redirect_url: https://b.example/console/oidc/callback\n    roles: {a: viewer}\n", wantErr: `console.oidc.issuer "http://idp.example": want an https URL`},
		{name: "oidc missing parts", yaml: "console:\n  oidc:\n    issuer: https://idp.example\n", wantErr: "console.oidc.client_id: required"},
		{name: "oidc bad redirect", yaml: "console:\n  oidc:\n    issuer: https://idp.example\n    client_id: c\n    redirect_url: https://b.example/callback\n    roles: {a: viewer}\n", wantErr: "console.oidc.redirect_url"},
		{name: "oidc bad role", yaml: "console:\n  oidc:\n    issuer: https://idp.example\n    client_id: c\n    redirect_url: https://b.example/console/oidc/callback\n    roles: {a: root}\n", wantErr: `console.oidc.roles.a "root": want viewer, operator, analyst or admin`},
		{name: "oidc no roles", yaml: "console:\n  oidc:\n    issuer: https://idp.example\n    client_id: c\n    redirect_url: https://b.example/console/oidc/callback\n", wantErr: "console.oidc.roles: map at least one"},
	}
	t.Setenv("TEST_OIDC_SECRET", "oidc-secret")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = write(t, tt.yaml)
			}
			c, err := Load(path, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
