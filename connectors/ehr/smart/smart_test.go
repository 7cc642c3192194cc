package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smartsim"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// TestParsePrivateKey: the three PEM encodings, and keys that do not suit
// the algorithm, each with a clear error.
func TestParsePrivateKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, "PRIVATE KEY", der)
	}
	sec1 := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf(t, "EC PRIVATE KEY", der)
	}
	params := []byte("-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n")
	tests := []struct {
		name, alg string
		pem       []byte
		err       string // "" for success
	}{
		{"PKCS#1 RSA", smart.RS384, pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), ""},
		{"PKCS#8 RSA", smart.RS384, pkcs8(rsaKey), ""},
		{"PKCS#8 EC", smart.ES384, pkcs8(ec384), ""},
		{"SEC1 EC", smart.ES384, sec1(ec384), ""},
		{"SEC1 EC after EC PARAMETERS", smart.ES384, append(params, sec1(ec384)...), ""},
		{"RSA key for ES384", smart.ES384, pkcs8(rsaKey), "needs an EC P-384 key"},
		{"EC key for RS384", smart.RS384, sec1(ec384), "needs an RSA key"},
		{"P-256 for ES384", smart.ES384, sec1(ec256), "ES384 needs P-384"},
		{"RSA 1024", smart.RS384, pkcs8(small), "at least 2048"},
		{"unknown alg", "HS256", pkcs8(rsaKey), "want RS384 or ES384"},
		{"no PEM", smart.RS384, []byte("not a key"), "no PEM private key block"},
		{"certificate", smart.RS384, pemOf(t, "CERTIFICATE", []byte{1, 2}), `"CERTIFICATE" is not a private key`},
		{"encrypted", smart.RS384, pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2}), "encrypted"},
		{"garbage DER", smart.RS384, pemOf(t, "PRIVATE KEY", []byte{1, 2, 3}), "not a valid key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := smart.ParsePrivateKey(tc.pem, tc.alg)
			if tc.err == "" {
				if err != nil || k == nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

// TestAssertion: the signature verifies with the public key, the claims
// are those RFC 7523 and SMART ask for, and each jti is new.
func TestAssertion(t *testing.T) {
	for _, alg := range []string{smart.RS384, smart.ES384} {
		t.Run(alg, func(t *testing.T) {
			p, pub, err := smartsim.NewKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			key, err := smart.ParsePrivateKey(p, alg)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(1_800_000_000, 0)
			a, err := smart.Assertion("bridge", "https://ehr.example/token", "k1", alg, key, now)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := smart.Verify(a, alg, pub)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"iss": "bridge", "sub": "bridge", "aud": "https://ehr.example/token",
				"iat": float64(now.Unix()), "exp": float64(now.Add(4 * time.Minute).Unix())}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %v", k, claims[k], v)
				}
			}
			b, _ := smart.Assertion("bridge", "https://ehr.example/token", "k1", alg, key, now)
			c2, _ := smart.Verify(b, alg, pub)
			if claims["jti"] == "" || claims["jti"] == c2["jti"] {
				t.Errorf("jti %v then %v", claims["jti"], c2["jti"])
			}
			// a changed claim breaks the signature
			parts := strings.Split(a, ".")
			if _, err := smart.Verify(parts[0]+"."+parts[1]+"x."+parts[2], alg, pub); err == nil {
				t.Error("a tampered assertion verified")
			}
			_, other, _ := smartsim.NewKey(alg)
			if _, err := smart.Verify(a, alg, other); err == nil {
				t.Error("verified with another key")
			}
		})
	}
}

func TestParseConfiguration(t *testing.T) {
	tests := []struct {
		name, doc, err string
		supportsErr    string
	}{
		{"minimal", `{"token_endpoint":"https://ehr.example/token"}`, "", ""},
		{"full", `{"token_endpoint":"https://ehr.example/token","token_endpoint_auth_methods_supported":["private_key_jwt"],
			"token_endpoint_auth_signing_alg_values_supported":["RS384","ES384"],"grant_types_supported":["client_credentials"]}`, "", ""},
		{"no private_key_jwt", `{"token_endpoint":"https://e/t","token_endpoint_auth_methods_supported":["client_secret_basic"]}`, "", "lacks private_key_jwt"},
		{"no RS384", `{"token_endpoint":"https://e/t","token_endpoint_auth_signing_alg_values_supported":["ES384"]}`, "", "lacks RS384"},
		{"no client_credentials", `{"token_endpoint":"https://e/t","grant_types_supported":["authorization_code"]}`, "", "lacks client_credentials"},
		{"no token endpoint", `{}`, "token_endpoint: want a URL", ""},
		{"relative token endpoint", `{"token_endpoint":"/token"}`, "absolute http(s)", ""},
		{"ftp token endpoint", `{"token_endpoint":"ftp://e/token"}`, "absolute http(s)", ""},
		{"user info", `{"token_endpoint":"https://u:p@e/token"}`, "user information", ""},
		{"number", `{"token_endpoint":3}`, "want a URL string", ""},
		{"bad list", `{"token_endpoint":"https://e/t","grant_types_supported":"client_credentials"}`, "grant_types_supported: want an array", ""},
		{"array", `[]`, "not a JSON object", ""},
		{"oversize", `{"token_endpoint":"https://e/t","x":"` + strings.Repeat("a", smart.MaxBody) + `"}`, "over", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := smart.ParseConfiguration([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = c.Supports(smart.RS384)
			if (tc.supportsErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.supportsErr)) {
				t.Errorf("Supports: %v, want %q", err, tc.supportsErr)
			}
		})
	}
}

func TestParseTokenResponse(t *testing.T) {
	tests := []struct {
		name, doc, err string
		life           time.Duration
	}{
		{"full", `{"access_token":"abc","token_type":"Bearer","expires_in":3600,"scope":"system/Appointment.ru"}`, "", time.Hour},
		{"no expires_in", `{"access_token":"abc","token_type":"bearer"}`, "", smart.DefaultExpiresIn},
		{"huge expires_in capped", `{"access_token":"abc","token_type":"bearer","expires_in":1e300}`, "", 24 * time.Hour},
		{"fractional", `{"access_token":"abc","token_type":"bearer","expires_in":1.5}`, "", 1500 * time.Millisecond},
		{"zero expires_in", `{"access_token":"abc","token_type":"bearer","expires_in":0}`, "expires_in", 0},
		{"string expires_in", `{"access_token":"abc","token_type":"bearer","expires_in":"60"}`, "expires_in", 0},
		{"mac token", `{"access_token":"abc","token_type":"mac"}`, "token_type", 0},
		{"no token", `{"token_type":"bearer"}`, "access_token", 0},
		{"token with a line break", `{"access_token":"a\r\nX-Evil: 1","token_type":"bearer"}`, "header", 0},
		{"long token", `{"access_token":"` + strings.Repeat("a", 9000) + `","token_type":"bearer"}`, "over", 0},
		{"scope number", `{"access_token":"abc","token_type":"bearer","scope":1}`, "scope", 0},
		{"not JSON", `<html>`, "not a JSON object", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := smart.ParseTokenResponse([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "abc") || strings.Contains(err.Error(), "Evil") {
					t.Errorf("value in %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "abc" || tok.ExpiresIn != tc.life {
				t.Errorf("token %q life %s, want abc %s", tok.AccessToken, tok.ExpiresIn, tc.life)
			}
		})
	}
}

func TestRenewAfter(t *testing.T) {
	for _, tc := range []struct{ life, want time.Duration }{
		{time.Hour, 48 * time.Minute},        // 80 % is earlier than 60 s before
		{4 * time.Minute, 3 * time.Minute},   // 60 s before is earlier than 80 %
		{30 * time.Second, 24 * time.Second}, // too short for 60 s: 80 %
		{5 * time.Minute, 4 * time.Minute},
	} {
		if got := smart.RenewAfter(tc.life); got != tc.want {
			t.Errorf("RenewAfter(%s) = %s, want %s", tc.life, got, tc.want)
		}
	}
}

func TestParseTokenError(t *testing.T) {
	for doc, want := range map[string]string{
		`{"error":"invalid_client","error_description":"secret assertion here"}`: "invalid_client",
		`{"error":"invalid_scope"}`:  "invalid_scope",
		`{"error":"made up <code>"}`: "",
		`not json`:                   "",
	} {
		if got := smart.ParseTokenError([]byte(doc)); got != want {
			t.Errorf("ParseTokenError(%s) = %q, want %q", doc, got, want)
		}
	}
}

// clock is a settable clock shared by the Source and the test EHR.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newSource starts a test EHR and a Source for it.
func newSource(t *testing.T, alg, tokenURL string) (*smartsim.Server, *smart.Source, *clock) {
	t.Helper()
	p, pub, err := smartsim.NewKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	key, err := smart.ParsePrivateKey(p, alg)
	if err != nil {
		t.Fatal(err)
	}
	sim := smartsim.New("bridge", alg, pub, 10*time.Minute)
	t.Cleanup(sim.Close)
	clk := &clock{t: time.Now()}
	sim.SetClock(clk.now)
	if tokenURL == "sim" {
		tokenURL = sim.TokenURL()
	}
	src, err := smart.New(smart.Config{BaseURL: sim.FHIRBase(), TokenURL: tokenURL, ClientID: "bridge", KeyID: "k1",
		Alg: alg, Key: key, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return sim, src, clk
}

// TestSourceLifecycle: discovery (or a configured token URL), the cache,
// renewal before expiry, Invalidate, for both algorithms.
func TestSourceLifecycle(t *testing.T) {
	for _, tc := range []struct{ alg, tokenURL string }{{smart.RS384, ""}, {smart.ES384, ""}, {smart.ES384, "sim"}} {
		t.Run(tc.alg+" "+tc.tokenURL, func(t *testing.T) {
			sim, src, clk := newSource(t, tc.alg, tc.tokenURL)
			ctx := context.Background()
			t1, err := src.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if t2, _ := src.Token(ctx); t2 != t1 || sim.Issued() != 1 {
				t.Fatalf("second call: same token %v, issued %d", t2 == t1, sim.Issued())
			}
			discovered := 0
			for _, r := range sim.Log() {
				if strings.HasSuffix(r.Path, "smart-configuration") {
					discovered++
				}
			}
			if want := map[string]int{"": 1, "sim": 0}[tc.tokenURL]; discovered != want {
				t.Errorf("%d discoveries, want %d", discovered, want)
			}
			clk.add(7 * time.Minute) // before the renewal point (8 min of 10)
			if t2, _ := src.Token(ctx); t2 != t1 {
				t.Error("renewed too early")
			}
			clk.add(90 * time.Second) // past 80 %
			t3, err := src.Token(ctx)
			if err != nil || t3 == t1 || sim.Issued() != 2 {
				t.Fatalf("renewal: err %v, new %v, issued %d", err, t3 != t1, sim.Issued())
			}
			src.Invalidate(t1) // stale: no effect
			if t4, _ := src.Token(ctx); t4 != t3 {
				t.Error("Invalidate of a replaced token dropped the current one")
			}
			src.Invalidate(t3)
			if t5, _ := src.Token(ctx); t5 == t3 || sim.Issued() != 3 {
				t.Errorf("after Invalidate: new %v, issued %d", t5 != t3, sim.Issued())
			}
		})
	}
}

// TestSourceSingleFlight: callers asking at once share one request.
func TestSourceSingleFlight(t *testing.T) {
	sim, src, _ := newSource(t, smart.ES384, "sim")
	var wg sync.WaitGroup
	var failed atomic.Int32
	toks := make([]string, 20)
	for i := range toks {
		wg.Go(func() {
			tok, err := src.Token(context.Background())
			if err != nil {
				failed.Add(1)
			}
			toks[i] = tok
		})
	}
	wg.Wait()
	if failed.Load() != 0 || sim.Issued() != 1 {
		t.Fatalf("%d failures, %d tokens issued", failed.Load(), sim.Issued())
	}
	for _, tok := range toks {
		if tok != toks[0] {
			t.Fatal("callers got different tokens")
		}
	}
}

// TestSourceRefused: a refusal needs a reconnect, names the OAuth code and
// never quotes the assertion (which the test EHR echoes back); a renewal
// refused while the old token still lives keeps the old token.
func TestSourceRefused(t *testing.T) {
	sim, src, clk := newSource(t, smart.RS384, "")
	sim.RefuseClient(true)
	_, err := src.Token(context.Background())
	if !errors.Is(err, smart.ErrRefused) {
		t.Fatalf("err %v, want ErrRefused", err)
	}
	if class, _ := connectors.Classify(err); class != connectors.Reconnect {
		t.Errorf("class %s, want reconnect", class)
	}
	if !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), "eyJ") {
		t.Errorf("error %q", err)
	}
	sim.RefuseClient(false)
	old, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clk.add(9 * time.Minute) // due for renewal, not expired
	sim.RefuseClient(true)
	if tok, err := src.Token(context.Background()); err != nil || tok != old {
		t.Errorf("renewal refused: err %v, kept old %v", err, tok == old)
	}
	clk.add(2 * time.Minute) // expired
	if _, err := src.Token(context.Background()); err == nil {
		t.Error("an expired token was returned")
	}
}

// TestSourceUnreachable: a network failure is transient.
func TestSourceUnreachable(t *testing.T) {
	sim, src, _ := newSource(t, smart.RS384, "")
	sim.Close()
	_, err := src.Token(context.Background())
	if class, _ := connectors.Classify(err); err == nil || class != connectors.Transient {
		t.Fatalf("err %v class %s, want transient", err, class)
	}
}

func TestNewChecks(t *testing.T) {
	p, _, _ := smartsim.NewKey(smart.ES384)
	key, _ := smart.ParsePrivateKey(p, smart.ES384)
	good := smart.Config{BaseURL: "https://ehr.example/fhir", ClientID: "c", Alg: smart.ES384, Key: key}
	for name, tc := range map[string]struct {
		change func(*smart.Config)
		err    string
	}{
		"no client id": {func(c *smart.Config) { c.ClientID = "" }, "client_id"},
		"no key":       {func(c *smart.Config) { c.Key = nil }, "private_key is required"},
		"alg mismatch": {func(c *smart.Config) { c.Alg = smart.RS384 }, "needs an RSA key"},
		"bad base":     {func(c *smart.Config) { c.BaseURL = "ehr" }, "FHIR base"},
		"bad token":    {func(c *smart.Config) { c.TokenURL = "/token" }, "token_url"},
		"spaced scope": {func(c *smart.Config) { c.Scopes = []string{"a b"} }, "one scope per entry"},
	} {
		c := good
		tc.change(&c)
		if _, err := smart.New(c); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err %v, want %q", name, err, tc.err)
		}
	}
	if _, err := smart.New(good); err != nil {
		t.Error(err)
	}
}

// TestJWKS: the published key set verifies the bridge's assertions and
// holds no private part.
func TestJWKS(t *testing.T) {
	for _, alg := range []string{smart.RS384, smart.ES384} {
		t.Run(alg, func(t *testing.T) {
			p, _, err := smartsim.NewKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			key, err := smart.ParsePrivateKey(p, alg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := smart.JWKS(key, "k1", alg)
			if err != nil {
				t.Fatal(err)
			}
			for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
				if strings.Contains(string(b), private) {
					t.Errorf("private member %s in %s", private, b)
				}
			}
			var set struct{ Keys []smart.JWK }
			if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 || set.Keys[0].Kid != "k1" || set.Keys[0].Alg != alg {
				t.Fatalf("JWKS %s: %v", b, err)
			}
			pub, err := set.Keys[0].PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			a, err := smart.Assertion("c", "https://ehr.example/token", "k1", alg, key, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := smart.Verify(a, alg, pub); err != nil {
				t.Errorf("the JWKS key does not verify the assertion: %v", err)
			}
		})
	}
}

// TestNoKeyInPrint: printing a Source or its Config, whatever the verb,
// shows no key or token.
func TestNoKeyInPrint(t *testing.T) {
	_, src, _ := newSource(t, smart.RS384, "sim")
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	holder := struct{ S *smart.Source }{src}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(verb, holder)
		if strings.Contains(out, tok) || strings.Contains(out, "PrivateKey") || len(out) > 200 {
			t.Errorf("%s printed %s", verb, out)
		}
	}
}
