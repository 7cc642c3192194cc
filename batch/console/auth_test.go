package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
)

// clock is a settable clock for the session timeouts.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func auditActions(t *testing.T, e *consoletest.Env) []string {
	t.Helper()
	rows, err := console.ListAudit(context.Background(), e.Store, console.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.User+" "+r.Action+" "+r.Target)
	}
	return out
}

func hasAudit(rows []string, want string) bool {
	for _, r := range rows {
		if r == want {
			return true
		}
	}
	return false
}

func TestLoginLogout(t *testing.T) {
	e := consoletest.NewServer(t)
	// not logged in: pages redirect to the login form, actions are 401
	anon := consoletest.NewClient()
	resp, err := anon.Get(e.URL + "/console/testpage")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Errorf("anonymous GET: %d to %q, want 303 to /console/login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = anon.PostForm(e.URL+"/console/testpage/act", url.Values{"csrf": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous POST: %d, want 401", resp.StatusCode)
	}
	// logged in: the page, the navigation by role, then logout ends the session
	c, err := consoletest.Login(e.URL, "operator", consoletest.Password)
	if err != nil {
		t.Fatal(err)
	}
	status, body := get(t, c, e.URL+"/console/testpage")
	if status != 200 || !strings.Contains(body, "hello operator") || !strings.Contains(body, `href="/console/testpage"`) {
		t.Fatalf("logged-in page: %d\n%s", status, body)
	}
	if strings.Contains(body, `href="/console/users"`) || strings.Contains(body, `href="/console/audit"`) {
		t.Error("an operator's navigation shows the admin pages")
	}
	if status, body := get(t, e.Client(console.RoleAdmin), e.URL+"/console/testpage"); status != 200 || !strings.Contains(body, `href="/console/users"`) {
		t.Error("an admin's navigation lacks the users page")
	}
	tok := csrfOf(t, c, e.URL)
	oldCookie := cookieOf(t, c, e.URL, true)
	resp, err = c.PostForm(e.URL+"/console/logout", url.Values{"csrf": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Errorf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cookieOf(t, c, e.URL, false) != "" {
		t.Error("logout left the session cookie in the browser")
	}
	// the old cookie no longer opens anything, even if a browser kept it
	old := consoletest.NewClient()
	u, _ := url.Parse(e.URL + "/console/")
	old.Jar.SetCookies(u, []*http.Cookie{{Name: console.CookieName, Value: oldCookie}})
	if status, _ := get(t, old, e.URL+"/console/testpage"); status != http.StatusSeeOther {
		t.Errorf("page after logout with the old cookie: %d, want 303 to login", status)
	}
	rows := auditActions(t, e)
	for _, want := range []string{"operator login role operator", "operator logout "} {
		if !hasAudit(rows, want) {
			t.Errorf("audit lacks %q: %q", want, rows)
		}
	}
	// the other roles' sessions are untouched
	if status, _ := e.Get(t, console.RoleViewer, "/console/testpage"); status != 200 {
		t.Errorf("viewer after operator's logout: %d", status)
	}
}

func TestWrongPasswordAndRateLimit(t *testing.T) {
	e := consoletest.NewServer(t, consoletest.WithOptions(func(o *console.Options) { o.LoginLimitUser = 3; o.LoginLimitRemote = 6 }))
	if _, err := consoletest.Login(e.URL, "viewer", "wrong-password"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: %v, want a 401", err)
	}
	if _, err := consoletest.Login(e.URL, "nobody", "wrong-password"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("unknown user: %v, want a 401", err)
	}
	rows := auditActions(t, e)
	if !hasAudit(rows, "viewer login.failed ") || !hasAudit(rows, " login.failed unknown user") {
		t.Errorf("audit of failed logins: %q", rows)
	}
	for _, r := range rows {
		if strings.Contains(r, "nobody") || strings.Contains(r, "wrong-password") {
			t.Errorf("the audit log holds what was typed: %q", r)
		}
	}
	// two more failures for viewer reach its limit of 3: even the right
	// password is refused now (429), other users still log in
	for range 2 {
		if _, err := consoletest.Login(e.URL, "viewer", "wrong-password"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if _, err := consoletest.Login(e.URL, "viewer", consoletest.Password); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("right password over the user limit: %v, want 429", err)
	}
	if _, err := consoletest.Login(e.URL, "operator", consoletest.Password); err != nil {
		t.Fatalf("another user under the limit: %v", err)
	}
	// the remote address's limit (6) is reached after 2 more failures of
	// any names: then every login from it is refused
	for _, n := range []string{"analyst", "admin"} {
		if _, err := consoletest.Login(e.URL, n, "wrong-password"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if _, err := consoletest.Login(e.URL, "operator", consoletest.Password); err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("over the remote limit: %v, want 429", err)
	}
	if !hasAudit(auditActions(t, e), "operator login.limited ") {
		t.Error("no audit row for the refused login")
	}
}

func TestSessionTimeouts(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	e := consoletest.NewServer(t, consoletest.WithNow(clk.now), consoletest.WithOptions(func(o *console.Options) {
		o.IdleTimeout, o.AbsoluteTimeout = 10*time.Minute, time.Hour
	}))
	tests := []struct {
		name    string
		step    time.Duration
		role    console.Role
		open    bool
		comment string
	}{
		{"within idle", 9 * time.Minute, console.RoleViewer, true, "used at 9m: refreshed"},
		{"used again within idle", 9 * time.Minute, console.RoleViewer, true, "18m since login, 9m idle"},
		{"idle operator", 0, console.RoleOperator, false, "operator unused for 18m"},
	}
	for _, tt := range tests {
		clk.add(tt.step)
		status, _ := e.Get(t, tt.role, "/console/testpage")
		if (status == 200) != tt.open {
			t.Errorf("%s (%s): %d", tt.name, tt.comment, status)
		}
	}
	// keep the viewer busy until the absolute timeout passes
	for clk.now().Before(time.Date(2026, 3, 1, 8, 55, 0, 0, time.UTC)) {
		clk.add(5 * time.Minute)
		if status, _ := e.Get(t, console.RoleViewer, "/console/testpage"); status != 200 {
			t.Fatalf("busy viewer logged out at %s", clk.now())
		}
	}
	clk.add(6 * time.Minute) // 61 minutes after login
	if status, _ := e.Get(t, console.RoleViewer, "/console/testpage"); status != http.StatusSeeOther {
		t.Errorf("past the absolute timeout: %d, want 303 to login", status)
	}
	// pruning removes what expired; a fresh login works
	if err := console.PruneSessions(context.Background(), e.Store, clk.now(), 10*time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := consoletest.Login(e.URL, "viewer", consoletest.Password); err != nil {
		t.Fatal(err)
	}
}

func TestCSRF(t *testing.T) {
	e := consoletest.NewServer(t)
	c := e.Client(console.RoleOperator)
	before := opsRan.Load()
	wrong := e.CSRF(console.RoleAdmin) // a valid token of another session
	tests := []struct {
		name string
		form url.Values
		hdr  string
	}{
		{"none", url.Values{}, ""},
		{"empty", url.Values{"csrf": {""}}, ""},
		{"garbage", url.Values{"csrf": {"<script>"}}, ""},
		{"another session's", url.Values{"csrf": {wrong}}, ""},
		{"wrong header", url.Values{}, wrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.URL+"/console/testpage/act", strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.hdr != "" {
				req.Header.Set("X-CSRF-Token", tt.hdr)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	if opsRan.Load() != before {
		t.Fatalf("the action ran %d times without a valid CSRF token", opsRan.Load()-before)
	}
	// the right token, as a form field and as a header
	if status, _ := e.PostForm(t, console.RoleOperator, "/console/testpage/act", nil); status != http.StatusSeeOther {
		t.Errorf("with the token: %d", status)
	}
	req, _ := http.NewRequest("POST", e.URL+"/console/testpage/act", nil)
	req.Header.Set("X-CSRF-Token", e.CSRF(console.RoleOperator))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || opsRan.Load() != before+2 {
		t.Errorf("with the header: %d, ran %d", resp.StatusCode, opsRan.Load()-before)
	}
	// the login form refuses a post without its token (login CSRF)
	anon := consoletest.NewClient()
	resp, err = anon.PostForm(e.URL+"/console/login", url.Values{"user": {"admin"}, "password": {consoletest.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without its token: %d, want 403", resp.StatusCode)
	}
}

func TestSecurityHeadersAndCookies(t *testing.T) {
	e := consoletest.NewServer(t)
	anon := consoletest.NewClient()
	reqs := []struct {
		c      *http.Client
		method string
		path   string
		status int
	}{
		{anon, "GET", "/console/login", 200},
		{anon, "GET", "/console/static/style.css", 200},
		{anon, "GET", "/console/nowhere", 404},
		{anon, "GET", "/console/static/", 404},
		{anon, "GET", "/console/static/nothing.js", 404},
		{anon, "GET", "/console/testpage", 303},
		{anon, "POST", "/console/testpage/act", 401},
		{e.Client(console.RoleViewer), "GET", "/console/", 303},
		{e.Client(console.RoleViewer), "GET", "/console/testpage", 200},
		{e.Client(console.RoleViewer), "GET", "/console/users", 403},
		{e.Client(console.RoleViewer), "POST", "/console/testpage/act", 403},
		{e.Client(console.RoleAdmin), "GET", "/console/audit", 200},
		{e.Client(console.RoleAdmin), "GET", "/console/audit?before=x", 400},
		{e.Client(console.RoleAdmin), "GET", "/console/users", 200},
	}
	for _, r := range reqs {
		req, _ := http.NewRequest(r.method, e.URL+r.path, nil)
		resp, err := r.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.status {
			t.Errorf("%s %s: %d, want %d", r.method, r.path, resp.StatusCode, r.status)
		}
		for k, v := range console.SecurityHeaders {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", r.method, r.path, k, got, v)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
	}
	// cookie flags: HttpOnly and SameSite=Strict always; Secure except
	// over plain HTTP from loopback
	for _, tc := range []struct {
		remote string
		secure bool
	}{{"127.0.0.1:5555", false}, {"[::1]:5555", false}, {"192.0.2.7:5555", true}} {
		req := httptestRequest("GET", "/console/login", tc.remote)
		w := newRecorder()
		e.Server.ServeHTTP(w, req)
		ck := w.Result().Cookies()
		if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Secure != tc.secure {
			t.Errorf("login cookie from %s: %+v, want HttpOnly, SameSite=Strict, Secure=%v", tc.remote, ck, tc.secure)
		}
	}
	u, _ := url.Parse(e.URL + "/console/")
	for _, ck := range e.Client(console.RoleViewer).Jar.Cookies(u) {
		if ck.Name == console.CookieName && len(ck.Value) != 43 {
			t.Errorf("session cookie value length %d", len(ck.Value))
		}
	}
}
