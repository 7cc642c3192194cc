package sso

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/connectors"
)

const (
	token   = "portal-token-0123456789"
	idSys   = "urn:oid:2.16.724.4.40"
	patient = `{"resourceType":"Patient","id":"pat-1","name":[{"use":"official","family":"Rossi","given":["Valentino"]}],
	  "identifier":[{"system":"` + idSys + `","value":"BNCDTL72A10G482S"}],
	  "telecom":[{"system":"phone","value":"333 333 3333","use":"mobile"},{"system":"phone","value":"051 1010 1010","use":"home"},{"system":"email","value":"rossi@acme.com"}],
	  "birthDate":"1972-01-10"}`
)

// patientData are values of the test patient that must never leave
// through the answer or the log.
var patientData = []string{"Rossi", "Valentino", "BNCDTL72A10G482S", "3333333333", "rossi@acme.com", "1972", "05110101010"}

// openStore is storetest.Open.
func openStore(t testing.TB, resources ...string) *store.Store {
	t.Helper()
	return storetest.Open(t, resources...)
}

// fakeLogin plays tuOtempO's login: it records each call and answers
// with status and body (after delay).
type fakeLogin struct {
	mu     sync.Mutex
	calls  []*http.Request
	forms  []url.Values
	status int
	body   string
	delay  time.Duration
}

func (f *fakeLogin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(b))
	f.mu.Lock()
	f.calls = append(f.calls, r)
	f.forms = append(f.forms, form)
	status, body, delay := f.status, f.body, f.delay
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func config(loginURL string) Config {
	return Config{
		LoginURL: loginURL + "/login", DBName: "tt_acme", User: "bridge", Password: "s3cret-pass",
		Tokens: []connectors.Secret{"another-portal-token-x", token}, Params: map[string]string{"id_number_system": idSys},
		Timeout: connectors.Duration(300 * time.Millisecond),
	}
}

// TestSSO drives the handler against a fake tuOtempO login.
func TestSSO(t *testing.T) {
	st := openStore(t, patient)
	fake := &fakeLogin{}
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	var logs bytes.Buffer
	h, err := newHandler(config(srv.URL), st, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, method, auth, body string
		loginStatus              int
		loginBody                string
		delay                    time.Duration
		want                     int
		wantURL                  string
		calls                    int
	}{
		{name: "text session", auth: "Bearer " + token, body: `{"patient":"Patient/pat-1"}`, loginStatus: 200, loginBody: "sessionId=2t3t43u43t54u5t4u54t346vbjhj\n",
			want: 200, wantURL: "https://app.tuotempo.com/mop_customer.php?dbName=tt_acme&sessionid=2t3t43u43t54u5t4u54t346vbjhj", calls: 1},
		{name: "JSON session, bare id", auth: "bearer " + token, body: `{"patient":"pat-1"}`, loginStatus: 200, loginBody: `{"sessionId":"abc-123"}`,
			want: 200, wantURL: "https://app.tuotempo.com/mop_customer.php?dbName=tt_acme&sessionid=abc-123", calls: 1},
		{name: "no token", body: `{"patient":"pat-1"}`, want: 401},
		{name: "wrong token", auth: "Bearer " + token + "x", body: `{"patient":"pat-1"}`, want: 401},
		{name: "basic instead of bearer", auth: "Basic Zm9vOmJhcg==", body: `{"patient":"pat-1"}`, want: 401},
		{name: "unknown patient", auth: "Bearer " + token, body: `{"patient":"Patient/nobody"}`, want: 404},
		{name: "bad JSON", auth: "Bearer " + token, body: `{"patient":`, want: 400},
		{name: "unknown member", auth: "Bearer " + token, body: `{"patient":"pat-1","x":1}`, want: 400},
		{name: "bad id", auth: "Bearer " + token, body: `{"patient":"Patient/../x"}`, want: 400},
		{name: "body over 16 KiB", auth: "Bearer " + token, body: `{"patient":"` + strings.Repeat("a", 17<<10) + `"}`, want: 400},
		{name: "GET", method: http.MethodGet, auth: "Bearer " + token, want: 405},
		{name: "tuOtempO refuses", auth: "Bearer " + token, body: `{"patient":"pat-1"}`, loginStatus: 401, loginBody: "denied", want: 502, calls: 1},
		{name: "tuOtempO answers garbage", auth: "Bearer " + token, body: `{"patient":"pat-1"}`, loginStatus: 200, loginBody: "<html>error</html>", want: 502, calls: 1},
		{name: "tuOtempO answers a bad session id", auth: "Bearer " + token, body: `{"patient":"pat-1"}`, loginStatus: 200, loginBody: "sessionId=<script>", want: 502, calls: 1},
		{name: "tuOtempO redirects", auth: "Bearer " + token, body: `{"patient":"pat-1"}`, loginStatus: 302, want: 502, calls: 1},
		{name: "tuOtempO too slow", auth: "Bearer " + token, body: `{"patient":"pat-1"}`, loginStatus: 200, loginBody: "sessionId=late", delay: 2 * time.Second, want: 504, calls: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.mu.Lock()
			fake.calls, fake.forms, fake.status, fake.body, fake.delay = nil, nil, c.loginStatus, c.loginBody, c.delay
			fake.mu.Unlock()
			m := c.method
			if m == "" {
				m = http.MethodPost
			}
			req := httptest.NewRequest(m, Path, strings.NewReader(c.body))
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.want, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
			var out map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("answer not JSON: %v", err)
			}
			if out["url"] != c.wantURL {
				t.Errorf("url %q, want %q", out["url"], c.wantURL)
			}
			for _, d := range patientData {
				if strings.Contains(rec.Body.String(), d) {
					t.Errorf("answer holds patient data %q", d)
				}
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.calls) != c.calls {
				t.Fatalf("%d login calls, want %d", len(fake.calls), c.calls)
			}
			if c.calls == 0 {
				return
			}
			r, form := fake.calls[0], fake.forms[0]
			if r.Method != http.MethodPost || r.URL.Path != "/login" || r.URL.RawQuery != "" {
				t.Errorf("login call %s %s, want POST /login without a query", r.Method, r.URL)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q", ct)
			}
			if u, p, ok := r.BasicAuth(); !ok || u != "bridge" || p != "s3cret-pass" {
				t.Errorf("Basic auth %q %q %v", u, p, ok)
			}
			want := url.Values{"fname": {"Valentino"}, "lname": {"Rossi"}, "phone": {"3333333333"}, "hometel": {"05110101010"},
				"email": {"rossi@acme.com"}, "idnumber": {"BNCDTL72A10G482S"}, "birthday": {"10/01/1972"}, "dbName": {"tt_acme"}}
			if form.Encode() != want.Encode() {
				t.Errorf("form %v, want %v", form, want)
			}
		})
	}
	for _, d := range append(patientData, "s3cret-pass", token, "2t3t43u43t54u5t4u54t346vbjhj") {
		if strings.Contains(logs.String(), d) {
			t.Errorf("log holds %q:\n%s", d, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "patient=pat-1") {
		t.Errorf("log does not name the patient id:\n%s", logs.String())
	}
}

// TestSessionURLKeepsQuery: a configured session URL's own query stays.
func TestSessionURLKeepsQuery(t *testing.T) {
	got := sessionURL("https://tt.example.org/mop_customer.php?lang=es", "tt_acme", "s1")
	if got != "https://tt.example.org/mop_customer.php?dbName=tt_acme&lang=es&sessionid=s1" {
		t.Errorf("got %s", got)
	}
}

// TestParseSessionAnswer: the answers tuOtempO may give.
func TestParseSessionAnswer(t *testing.T) {
	for in, want := range map[string]string{
		"sessionId=2t3t43u43t54":                "2t3t43u43t54",
		"  sessionid=abc\r\n":                   "abc",
		"ok=1&sessionId=abc&x=2":                "abc",
		"result OK\nsessionId=a.b_c~d-e":        "a.b_c~d-e",
		`{"sessionId":"abc"}`:                   "abc",
		`{"SESSIONID":"abc","x":1}`:             "abc",
		"\ufeffsessionId=bom":                   "bom",
		"":                                      "",
		"sessionId=":                            "",
		"nosessionId=abc":                       "",
		"sessionId=a/b":                         "",
		`{"sessionId":12}`:                      "",
		`{"sessionId":"a b"}`:                   "",
		`{"session":"abc"}`:                     "",
		"sessionId=" + strings.Repeat("a", 257): "",
	} {
		got, err := ParseSessionAnswer([]byte(in))
		if got != want || (want == "") != (err != nil) {
			t.Errorf("ParseSessionAnswer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzSessionAnswer: the parser never panics, and what it accepts is a
// bounded id of safe characters, never quoted in its errors.
func FuzzSessionAnswer(f *testing.F) {
	for _, s := range []string{"sessionId=abc", `{"sessionId":"abc"}`, "a=1&sessionId=x;y", "{", "sessionId=\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseSessionAnswer(b)
		if err != nil {
			if id != "" {
				t.Fatal("id with an error")
			}
			if len(b) > 12 && strings.Contains(err.Error(), string(b)) {
				t.Fatal("error quotes the answer")
			}
			return
		}
		if id == "" || len(id) > maxSessionLen || !sessionRE.MatchString(id) {
			t.Fatalf("accepted %q", id)
		}
	})
}

// TestConfigValidate: each error names its key, never a secret.
func TestConfigValidate(t *testing.T) {
	good := config("https://tt.example.org")
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"good", func(*Config) {}, ""},
		{"no login_url", func(c *Config) { c.LoginURL = "" }, Section + ".login_url: required"},
		{"http login", func(c *Config) { c.LoginURL = "http://tt.example.org/login" }, Section + ".login_url: want an https URL"},
		{"login with query", func(c *Config) { c.LoginURL = "https://tt.example.org/login?password=x" }, Section + ".login_url: no query string"},
		{"http session", func(c *Config) { c.SessionURL = "http://app.tuotempo.com/mop_customer.php" }, Section + ".session_url: want an https URL"},
		{"no db", func(c *Config) { c.DBName = "" }, Section + ".db_name: required"},
		{"no password", func(c *Config) { c.Password = "" }, Section + ".user, .password: required"},
		{"no tokens", func(c *Config) { c.Tokens = nil }, Section + ".tokens: at least one"},
		{"short token", func(c *Config) { c.Tokens = []connectors.Secret{"short"} }, Section + ".tokens[0]: shorter"},
		{"long timeout", func(c *Config) { c.Timeout = connectors.Duration(time.Hour) }, Section + ".timeout"},
	} {
		cfg := good
		cfg.Tokens = append([]connectors.Secret(nil), good.Tokens...)
		c.edit(&cfg)
		cfg.FillDefaults()
		errs := cfg.Validate()
		switch {
		case c.want == "" && len(errs) > 0:
			t.Errorf("%s: %v", c.name, errs)
		case c.want != "" && (len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), c.want)):
			t.Errorf("%s: %v, want one error %q", c.name, errs, c.want)
		}
		for _, e := range errs {
			if strings.Contains(e.Error(), "s3cret-pass") || strings.Contains(e.Error(), token) {
				t.Errorf("%s: error holds a secret: %v", c.name, e)
			}
		}
	}
	if cfg := (Config{}); true {
		cfg.FillDefaults()
		if cfg.SessionURL != DefaultSessionURL || cfg.Mapping != DefaultMapping || time.Duration(cfg.Timeout) != DefaultTimeout {
			t.Errorf("defaults %+v", cfg)
		}
	}
	st := openStore(t)
	if _, err := Handler(Config{}, st, nil); err == nil {
		t.Error("Handler accepted an empty config")
	}
	bad := good
	bad.Mapping = "tuotempo/key-entities"
	bad.Params = nil
	if _, err := Handler(bad, st, nil); err == nil || !strings.Contains(err.Error(), "Patient row mapping") {
		t.Errorf("Handler with a non-Patient mapping: %v", err)
	}
}
