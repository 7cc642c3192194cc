package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smartsim"
)

// TestEHRSmart: the ehr.smart section, each refusal naming its key, and
// a good section giving every endpoint one working token source.
func TestEHRSmart(t *testing.T) {
	dir := t.TempDir()
	keyFile := func(name, alg string) string {
		p, _, err := smartsim.NewKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, p, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	es := keyFile("es.pem", smart.ES384)
	rs := keyFile("rs.pem", smart.RS384)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	section := func(body string) string {
		return "ehr:\n  fhir_base_url: https://ehr.example/fhir\n" + body
	}
	tests := []struct{ name, src, want string }{
		{"token and smart", section("  token: {file: " + tokFile + "}\n  smart: {client_id: c, alg: ES384, private_key: {file: " + es + "}}\n"), "ehr: token and smart are exclusive"},
		{"no client id", section("  smart: {alg: ES384, private_key: {file: " + es + "}}\n"), "ehr.smart.client_id"},
		{"bad alg", section("  smart: {client_id: c, alg: HS256, private_key: {file: " + es + "}}\n"), `ehr.smart.alg "HS256"`},
		{"no key", section("  smart: {client_id: c, alg: ES384}\n"), "ehr.smart.private_key: required"},
		{"junk key", section("  smart: {client_id: c, alg: ES384, private_key: {file: " + junk + "}}\n"), "ehr.smart.private_key (file " + junk + "): no PEM private key"},
		{"key of the other alg", section("  smart: {client_id: c, alg: ES384, private_key: {file: " + rs + "}}\n"), "needs an EC P-384 key"},
		{"bad token url", section("  smart: {client_id: c, alg: ES384, private_key: {file: " + es + "}, token_url: /token}\n"), "ehr.smart.token_url"},
		{"spaced scope", section("  smart: {client_id: c, alg: ES384, private_key: {file: " + es + "}, scopes: ['a b']}\n"), "ehr.smart.scopes[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(write(t, tc.src), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("key material in %v", err)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		c, err := Load(write(t, section("  smart: {client_id: c, alg: RS384, key_id: k1, private_key: {file: "+rs+"}, scopes: [system/Appointment.ru]}\n")), nil)
		if err != nil {
			t.Fatal(err)
		}
		a, b := c.EHRConfig(), c.EHRConfig()
		if a.Tokens == nil || a.Tokens != b.Tokens {
			t.Fatalf("endpoints do not share one token source: %v %v", a.Tokens, b.Tokens)
		}
		if a.Token.Reveal() != "" {
			t.Error("a static token beside SMART")
		}
	})
	t.Run("static token has no source", func(t *testing.T) {
		c, err := Load(write(t, section("  token: {file: "+tokFile+"}\n")), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ep := c.EHRConfig(); ep.Tokens != nil || ep.Token.Reveal() != "tok" {
			t.Errorf("endpoint %+v", ep)
		}
	})
}

// TestEHRSmartToken: a configured section fetches a token from a SMART
// EHR (the token endpoint discovered).
func TestEHRSmartToken(t *testing.T) {
	p, pub, err := smartsim.NewKey(smart.ES384)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, p, 0o600); err != nil {
		t.Fatal(err)
	}
	sim := smartsim.New("bridge", smart.ES384, pub, time.Hour)
	defer sim.Close()
	c, err := Load(write(t, "ehr:\n  fhir_base_url: "+sim.FHIRBase()+"\n  smart: {client_id: bridge, alg: ES384, private_key: {file: "+path+"}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EHRConfig().Tokens.Token(context.Background()); err != nil || sim.Issued() != 1 {
		t.Fatalf("err %v, issued %d", err, sim.Issued())
	}
}
