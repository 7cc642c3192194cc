package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smartsim"
)

// TestCheckConnectSMART: with ehr.smart, check --connect fetches a SMART
// token (discovering the token endpoint) and reads /metadata with it;
// a refused client is reported by its OAuth code. No token, assertion or
// key is printed.
func TestCheckConnectSMART(t *testing.T) {
	pemText, pub, err := smartsim.NewKey(smart.RS384)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "ehr-key.pem")
	if err := os.WriteFile(keyPath, pemText, 0o600); err != nil {
		t.Fatal(err)
	}
	sim := smartsim.New("fhirbridge", smart.RS384, pub, time.Hour)
	defer sim.Close()
	cfg := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfg, []byte("ehr:\n  fhir_base_url: "+sim.FHIRBase()+"\n  smart:\n    client_id: fhirbridge\n    alg: RS384\n    key_id: k1\n    private_key: {file: "+keyPath+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		refuse bool
		code   int
		want   string
	}{
		{"token and metadata", false, 0, "ok   ehr " + sim.FHIRBase() + " (SMART token issued, GET /metadata: 200 OK)"},
		{"client refused", true, 1, "FAIL ehr " + sim.FHIRBase() + ": SMART token: reconnect failure: SMART token request: status 401 (invalid_client): the EHR's token endpoint refused the client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sim.RefuseClient(tc.refuse)
			out, stderr, code := run(t, "", "check", "--config", cfg, "--connect")
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d and the line\n%s\n%s%s", code, tc.code, tc.want, out, stderr)
			}
			keyLine := strings.Split(string(pemText), "\n")[1]
			for _, secret := range []string{"sim-", "eyJ", keyLine, "PRIVATE KEY"} {
				if strings.Contains(out+stderr, secret) {
					t.Errorf("the output shows %q:\n%s%s", secret, out, stderr)
				}
			}
		})
	}
}

// TestTokenJWKS: the printed key set is public and verifies assertions
// signed with the key file; a key of the wrong kind is refused by name.
func TestTokenJWKS(t *testing.T) {
	pemText, _, err := smartsim.NewKey(smart.ES384)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "k.pem")
	if err := os.WriteFile(path, pemText, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "", "token", "jwks", "--key", path, "--alg", "ES384", "--kid", "k1")
	if code != 0 || !strings.Contains(out, `"crv": "P-384"`) || !strings.Contains(out, `"kid": "k1"`) || strings.Contains(out, `"d"`) {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	_, stderr, code = run(t, "", "token", "jwks", "--key", path, "--alg", "RS384")
	if code == 0 || !strings.Contains(stderr, "needs an RSA key") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
