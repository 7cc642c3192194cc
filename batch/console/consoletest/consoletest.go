// Package consoletest runs a console for the tests of page packages: a
// store, one user per role, an HTTP server on loopback and an http.Client
// per role already logged in through the real login form.
package consoletest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Password is the password of every user NewServer creates.
const Password = "test-password-1"

// FastParams are cheap argon2id parameters for tests (never for real
// users).
var FastParams = console.Params{Time: 1, Memory: 1024, Threads: 1}

// Env is a running console with one logged-in client per role.
type Env struct {
	// URL is the server's base URL (http://127.0.0.1:port); console
	// paths start with /console/.
	URL string
	// Store is the console's store.
	Store *store.Store
	// Server is the console handler.
	Server *console.Server
	// Users names the user of each role: "viewer", "operator", "analyst",
	// "admin".
	Users map[console.Role]string

	clients map[console.Role]*http.Client
	csrf    map[console.Role]string
}

// Option changes what NewServer builds.
type Option func(*console.Options)

// WithStore uses st (e.g. one holding messages) instead of a new SQLite
// store.
func WithStore(st *store.Store) Option { return func(o *console.Options) { o.Store = st } }

// WithConfig gives the pages c.
func WithConfig(c *config.Config) Option { return func(o *console.Options) { o.Config = c } }

// WithNow sets the console's clock.
func WithNow(now func() time.Time) Option { return func(o *console.Options) { o.Now = now } }

// WithOptions edits the console's Options directly (timeouts, limits).
func WithOptions(fn func(*console.Options)) Option { return Option(fn) }

// NewServer starts a console with every registered page, creates the
// users viewer, operator, analyst and admin (password Password) and logs
// each in. Everything stops when the test ends.
func NewServer(t testing.TB, opts ...Option) *Env {
	t.Helper()
	o := console.Options{Params: FastParams}
	for _, fn := range opts {
		fn(&o)
	}
	ctx := context.Background()
	if o.Store == nil {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		o.Store = st
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	e := &Env{Store: o.Store, Users: map[console.Role]string{}, clients: map[console.Role]*http.Client{}, csrf: map[console.Role]string{}}
	for _, r := range console.Roles() {
		e.Users[r] = r.String()
		if err := console.AddUser(ctx, o.Store, r.String(), r, Password, FastParams, now()); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.Server = srv
	mux := http.NewServeMux()
	mux.Handle("/console/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	e.URL = hs.URL
	for _, r := range console.Roles() {
		c, err := Login(e.URL, r.String(), Password)
		if err != nil {
			t.Fatalf("logging in %s: %v", r, err)
		}
		e.clients[r] = c
		e.csrf[r] = sessionCSRF(t, c, e.URL)
	}
	return e
}

// Client is the logged-in client of role; it does not follow redirects
// (a 303 after a form post is seen as such).
func (e *Env) Client(r console.Role) *http.Client { return e.clients[r] }

// CSRF is the CSRF token of role's session, for form posts.
func (e *Env) CSRF(r console.Role) string { return e.csrf[r] }

// Get fetches path as role and returns the status and body.
func (e *Env) Get(t testing.TB, r console.Role, path string) (int, string) {
	t.Helper()
	resp, err := e.clients[r].Get(e.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, resp)
}

// PostForm posts form to path as role with the session's CSRF token
// added, and returns the status and body.
func (e *Env) PostForm(t testing.TB, r console.Role, path string, form url.Values) (int, string) {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", e.csrf[r])
	resp, err := e.clients[r].PostForm(e.URL+path, f)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, resp)
}

func readAll(t testing.TB, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// csrfField finds the login form's hidden CSRF field.
var csrfField = regexp.MustCompile(`name="csrf" value="([A-Za-z0-9_-]+)"`)

// NewClient returns a client with a cookie jar that does not follow
// redirects.
func NewClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Login logs user in at the console of base through the login form and
// returns the client holding the session cookie.
func Login(base, user, password string) (*http.Client, error) {
	c := NewClient()
	resp, err := c.Get(base + "/console/login")
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		return nil, errorString("login page without a CSRF field")
	}
	resp, err = c.PostForm(base+"/console/login", url.Values{"user": {user}, "password": {password}, "csrf": {string(m[1])}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/console/") {
		return nil, errorString("login answered " + resp.Status)
	}
	return c, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// sessionCSRF derives the CSRF token from the client's session cookie.
func sessionCSRF(t testing.TB, c *http.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base + "/console/")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == console.CookieName {
			tok, err := console.CSRFForCookie(ck.Value)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	t.Fatal("no session cookie after login")
	return ""
}
