package vsee

import (
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors"
)

func TestValidate(t *testing.T) {
	ok := Config{BaseURL: "https://api.example/vc/next/api_v3", PortalBaseURL: "https://portal.example/vc/next", APIKey: "k", APISecret: "s"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no base", func(c *Config) { c.BaseURL = "" }, "base_url: required"},
		{"ftp base", func(c *Config) { c.BaseURL = "ftp://x" }, "base_url: must be an http"},
		{"portal with query", func(c *Config) { c.PortalBaseURL = "https://p.example/?a=1" }, "portal_base_url: must have no"},
		{"no secret", func(c *Config) { c.APISecret = "" }, "api_secret: required"},
		{"admin line break", func(c *Config) { c.AdminToken = "a\nb" }, "admin_token: contains a line break"},
		{"short link token", func(c *Config) { c.Links.Tokens = []connectors.Secret{"short"} }, "links.tokens[0]"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "timeout: is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mod(&cfg)
			s, err := validate(cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.portal.String() != "https://portal.example/vc/next" {
					t.Fatalf("portal = %s", s.portal)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "a\nb") {
				t.Fatal("error shows a credential")
			}
		})
	}
}
