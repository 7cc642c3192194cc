package browsertest

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// site is a tiny cookie-login site: GET / shows who is signed in and a
// form; POST /login sets the cookie from the form and goes back to /;
// POST /act answers 403 without the form field token=t.
func site() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		if c, err := r.Cookie("who"); err == nil {
			who = c.Value
		}
		fmt.Fprintf(w, `<!doctype html><html><body><p id="who">signed in: %s</p>
<form method="post" action="/login"><input name="user"><button id="go" type="submit">Go</button></form>
<div style="height:1500px">tall</div><a id="gone" href="/missing">missing</a></body></html>`, html.EscapeString(who))
	})
	mux.HandleFunc("GET /csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		fmt.Fprint(w, `<!doctype html><html><body><p>blocked</p><script>document.title = "ran"</script></body></html>`)
	})
	mux.HandleFunc("GET /script", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html><head><script src="/script.js"></script></head><body><p id="p">static</p></body></html>`)
	})
	mux.HandleFunc("GET /script.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `document.addEventListener('DOMContentLoaded', () => { document.getElementById('p').textContent = 'scripted'; });`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "who", Value: r.FormValue("user"), Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /act", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("token") != "t" {
			http.Error(w, "no token", http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// TestSessions drives the real browser through the helpers: a form post
// with a redirect, two sessions with their own cookies, the status of a
// missing page, a fetch with and without a field, an inline script the
// Content-Security-Policy blocks reported as a problem, and a full-page
// screenshot as tall as the page.
func TestSessions(t *testing.T) {
	srv := httptest.NewServer(site())
	defer srv.Close()
	b := Start(t)

	alice := b.NewSession(t)
	alice.OpenOK(srv.URL + "/")
	alice.Fill(`input[name=user]`, "alice")
	if status := alice.Click("#go"); status != http.StatusOK {
		t.Fatalf("the form's page answered %d, want 200 after the redirect", status)
	}
	if got := alice.Text(); !strings.Contains(got, "signed in: alice") {
		t.Fatalf("after the form: %q", got)
	}
	bob := b.NewSession(t)
	bob.OpenOK(srv.URL + "/")
	if got := bob.Text(); !strings.Contains(got, "signed in: nobody") {
		t.Fatalf("a second session shares the first one's cookie: %q", got)
	}
	if !alice.Has("#who") || alice.Has("#nope") || alice.Count("form") != 1 {
		t.Error("Has/Count do not see the page's elements")
	}
	if got := alice.Attr("form", "action"); got != "/login" {
		t.Errorf("form action %q, want /login", got)
	}
	if status := alice.Click("#gone"); status != http.StatusNotFound {
		t.Errorf("a missing page answered %d, want 404", status)
	}
	alice.OpenOK(srv.URL + "/")
	if got := alice.Fetch("POST", srv.URL+"/act", nil); got != http.StatusForbidden {
		t.Errorf("a POST without the token: %d, want 403", got)
	}
	if got := alice.Fetch("POST", srv.URL+"/act", map[string]string{"token": "t"}); got != http.StatusNoContent {
		t.Errorf("a POST with the token: %d, want 204", got)
	}
	alice.WaitFor(srv.URL+"/", "alice's name", func(text string) bool { return strings.Contains(text, "alice") })

	if p := alice.Problems(); len(p) != 0 {
		t.Errorf("problems on pages without any: %q", p)
	}
	alice.OpenOK(srv.URL + "/csp")
	time.Sleep(100 * time.Millisecond) // the report arrives as an event
	if p := alice.Problems(); len(p) != 1 || !strings.Contains(p[0], "Content Security Policy") {
		t.Errorf("an inline script the policy blocks: problems %q, want one naming the Content Security Policy", p)
	}
	if title, _ := alice.Eval("document.title"); title == "ran" {
		t.Error("the inline script ran despite the policy")
	}
	alice.Back()
	if loc := alice.Location(); loc != srv.URL+"/" || !strings.Contains(alice.Text(), "signed in: alice") {
		t.Errorf("Back from /csp: at %s", loc)
	}

	// scripts run, until NoScript; the helpers read the page either way
	carol := b.NewSession(t)
	carol.OpenOK(srv.URL + "/script")
	if got := carol.Text(); !strings.Contains(got, "scripted") {
		t.Errorf("the page's script did not run: %q", got)
	}
	carol.NoScript()
	carol.OpenOK(srv.URL + "/script")
	if got := carol.Text(); !strings.Contains(got, "static") {
		t.Errorf("the page's script ran under NoScript: %q", got)
	}
	carol.OpenOK(srv.URL + "/")
	carol.Fill(`input[name=user]`, "carol")
	if status := carol.Click("#go"); status != http.StatusOK || !strings.Contains(carol.Text(), "signed in: carol") {
		t.Errorf("a form under NoScript: %d %q", status, carol.Text())
	}

	alice.OpenOK(srv.URL + "/")
	path := alice.Shot("helper-check")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if cfg.Width != Width || cfg.Height < 1500 {
		t.Errorf("screenshot %dx%d, want %d wide and the whole page (≥1500) tall", cfg.Width, cfg.Height, Width)
	}
	if os.Getenv(EnvScreenshots) == "1" {
		_ = os.Remove(path) // not one of the README's pictures
	}
}

// TestShotName refuses names that could leave the folder.
func TestShotName(t *testing.T) {
	for _, name := range []string{"login", "one-message", "a1"} {
		if !shotName.MatchString(name) {
			t.Errorf("%q refused", name)
		}
	}
	for _, name := range []string{"", "../x", "a/b", "A", "-x", "x.png"} {
		if shotName.MatchString(name) {
			t.Errorf("%q accepted", name)
		}
	}
}
