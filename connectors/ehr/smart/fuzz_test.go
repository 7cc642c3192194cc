package smart_test

import (
	"strings"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
)

// FuzzParseConfiguration: a hostile discovery document never panics, and
// what is accepted has an absolute http(s) token endpoint.
func FuzzParseConfiguration(f *testing.F) {
	f.Add([]byte(`{"token_endpoint":"https://ehr.example/token","grant_types_supported":["client_credentials"]}`))
	f.Add([]byte(`{"token_endpoint":"/x"}`))
	f.Add([]byte(`{"token_endpoint_auth_methods_supported":[1]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := smart.ParseConfiguration(b)
		if err != nil {
			return
		}
		if smart.CheckURL(c.TokenEndpoint) != nil {
			t.Fatalf("accepted token endpoint %q", c.TokenEndpoint)
		}
		_ = c.Supports(smart.ES384)
	})
}

// FuzzParseTokenResponse: a hostile token answer never panics; an
// accepted token is non-empty header-safe ASCII with a positive life, and
// no error quotes the answer.
func FuzzParseTokenResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"abc","token_type":"bearer","expires_in":300}`))
	f.Add([]byte(`{"access_token":"a b","token_type":"Bearer","expires_in":-1}`))
	f.Add([]byte(`{"access_token":"abc","token_type":"bearer","expires_in":1e309}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := smart.ParseTokenResponse(b)
		_ = smart.ParseTokenError(b)
		if err != nil {
			if len(b) > 8 && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("error quotes the answer: %v", err)
			}
			return
		}
		if tok.AccessToken == "" || tok.ExpiresIn <= 0 || strings.ContainsAny(tok.AccessToken, " \r\n") {
			t.Fatalf("accepted %q life %s", tok.AccessToken, tok.ExpiresIn)
		}
	})
}

// FuzzParsePrivateKey: a hostile key file never panics.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "RS384")
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n"), "ES384")
	f.Fuzz(func(t *testing.T, b []byte, alg string) {
		_, _ = smart.ParsePrivateKey(b, alg)
	})
}
