package console_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
)

// testIdP is a small OpenID Connect provider: discovery and keys from
// go-oidc's oidctest, and an authorization endpoint that logs in whoever
// is set as next, and a token endpoint that checks PKCE and the client.
type testIdP struct {
	t       *testing.T
	url     string
	key     *rsa.PrivateKey
	signKey *rsa.PrivateKey // the key tokens are signed with (key unless a test forges)
	mu      sync.Mutex
	console string // where /auth sends the browser back
	next    map[string]any
	nonce   string // overrides the nonce in the token when set
	codes   map[string]authReq
}

type authReq struct{ nonce, challenge string }

const redirectURL = "https://console.example/console/oidc/callback"

func newTestIdP(t *testing.T) *testIdP {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{t: t, key: key, signKey: key, codes: map[string]authReq{}}
	disc := &oidctest.Server{PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "k1", Algorithm: oidc.RS256}}}
	mux := http.NewServeMux()
	mux.Handle("/.well-known/openid-configuration", disc)
	mux.Handle("/keys", disc)
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "console" || q.Get("redirect_uri") != redirectURL || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" {
			http.Error(w, "bad authorization request", 400)
			return
		}
		p.mu.Lock()
		code := fmt.Sprintf("code-%d", len(p.codes))
		p.codes[code] = authReq{nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
		back := p.console
		p.mu.Unlock()
		http.Redirect(w, r, back+"/console/oidc/callback?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id == "" {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		req, ok := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code"))
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		if !ok || id != "console" || secret != "s3cret" || base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		claims := map[string]any{"iss": p.url, "aud": "console", "sub": "s-1", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "nonce": req.nonce}
		if p.nonce != "" {
			claims["nonce"] = p.nonce
		}
		for k, v := range p.next {
			claims[k] = v
		}
		b, _ := json.Marshal(claims)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
			"id_token": oidctest.SignIDToken(p.signKey, "k1", oidc.RS256, string(b))})
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	p.url = hs.URL
	disc.SetIssuer(hs.URL)
	return p
}

// login runs the browser's side of the flow and returns the client, the
// callback's status and the client's status on a viewer page afterwards.
func (p *testIdP) login(t *testing.T, base string, tamper func(*url.URL)) (*http.Client, int) {
	t.Helper()
	c := consoletest.NewClient()
	resp, err := c.Get(base + "/console/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("oidc/login: %d", resp.StatusCode)
	}
	resp, err = c.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider /auth: %d", resp.StatusCode)
	}
	cb, _ := url.Parse(resp.Header.Get("Location"))
	if tamper != nil {
		tamper(cb)
	}
	resp, err = c.Get(cb.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return c, resp.StatusCode
}

func TestOIDCLogin(t *testing.T) {
	idp := newTestIdP(t)
	e := consoletest.NewServer(t, consoletest.WithOptions(func(o *console.Options) {
		o.OIDC = &console.OIDCOptions{Issuer: idp.url, ClientID: "console", ClientSecret: "s3cret", RedirectURL: redirectURL,
			Roles: map[string]console.Role{"fhir-ops": console.RoleOperator, "fhir-analysts": console.RoleAnalyst}}
	}))
	idp.console = e.URL
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name     string
		claims   map[string]any
		nonce    string
		signKey  *rsa.PrivateKey
		tamper   func(*url.URL)
		callback int
		role     console.Role // 0: no session
	}{
		{name: "operator", claims: map[string]any{"preferred_username": "olga", "groups": []string{"staff", "fhir-ops"}}, callback: 200, role: console.RoleOperator},
		{name: "highest of several", claims: map[string]any{"preferred_username": "olga", "groups": []string{"fhir-ops", "fhir-analysts"}}, callback: 200, role: console.RoleAnalyst},
		{name: "string claim", claims: map[string]any{"preferred_username": "sam", "groups": "fhir-ops"}, callback: 200, role: console.RoleOperator},
		{name: "no mapped group", claims: map[string]any{"preferred_username": "nils", "groups": []string{"staff"}}, callback: 403},
		{name: "no user name", claims: map[string]any{"groups": []string{"fhir-ops"}}, callback: 403},
		{name: "a local user's name", claims: map[string]any{"preferred_username": "admin", "groups": []string{"fhir-ops"}}, callback: 403},
		{name: "wrong nonce", claims: map[string]any{"preferred_username": "olga", "groups": []string{"fhir-ops"}}, nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", callback: 401},
		{name: "forged signature", claims: map[string]any{"preferred_username": "olga", "groups": []string{"fhir-ops"}}, signKey: other, callback: 401},
		{name: "wrong state", claims: map[string]any{"preferred_username": "olga", "groups": []string{"fhir-ops"}}, callback: 403,
			tamper: func(u *url.URL) { q := u.Query(); q.Set("state", "x"+q.Get("state")[1:]); u.RawQuery = q.Encode() }},
		{name: "provider error", callback: 401,
			tamper: func(u *url.URL) {
				q := u.Query()
				q.Del("code")
				q.Set("error", "access_denied")
				u.RawQuery = q.Encode()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idp.mu.Lock()
			idp.next, idp.nonce, idp.signKey = tt.claims, tt.nonce, idp.key
			if tt.signKey != nil {
				idp.signKey = tt.signKey
			}
			idp.mu.Unlock()
			c, status := idp.login(t, e.URL, tt.tamper)
			if status != tt.callback {
				t.Fatalf("callback: %d, want %d", status, tt.callback)
			}
			page, _ := get(t, c, e.URL+"/console/testpage")
			phi, _ := get(t, c, e.URL+"/console/testpage/phi")
			switch {
			case tt.role == 0 && page != http.StatusSeeOther:
				t.Errorf("no session expected, page answered %d", page)
			case tt.role != 0 && page != 200:
				t.Errorf("page answered %d", page)
			case tt.role == console.RoleAnalyst && phi != 200, tt.role == console.RoleOperator && phi != 403:
				t.Errorf("role %s: analyst page answered %d", tt.role, phi)
			}
		})
	}
	rows := auditActions(t, e)
	for _, want := range []string{"olga login oidc role operator", "olga login oidc role analyst", " login.failed oidc", " login.failed oidc: the provider refused"} {
		if !hasAudit(rows, want) {
			t.Errorf("audit lacks %q: %q", want, rows)
		}
	}
	// an OIDC user has no password: the login form refuses any
	if _, err := consoletest.Login(e.URL, "olga", "any-password-at-all"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("password login of an OIDC user: %v", err)
	}
	// and the local admin kept its password and role
	if _, err := consoletest.Login(e.URL, "admin", consoletest.Password); err != nil {
		t.Error(err)
	}
}
