package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The environment variables the package reads.
const (
	// EnvRequire set to 1 makes a missing browser fail the test instead of
	// skipping it.
	EnvRequire = "FHIRBRIDGE_REQUIRE_CHROMIUM"
	// EnvScreenshots set to 1 writes screenshots to the repository's
	// docs/console folder instead of the test's temporary folder.
	EnvScreenshots = "FHIRBRIDGE_SCREENSHOTS"
)

// The viewport of every page: the README's screenshots are this wide, and
// as tall as the page.
const (
	Width  = 1280
	Height = 800
)

// ActionTimeout bounds one browser step (a navigation, a click and the
// page it loads, a read).
const ActionTimeout = 30 * time.Second

// WaitTimeout bounds WaitFor: generous, as CI shares its cores with
// other tests.
const WaitTimeout = 60 * time.Second

// browserNames are the executables tried, in order: Debian's chromium
// first.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "headless_shell", "chrome"}

// Browser is one headless browser process shared by the sessions of a test.
type Browser struct {
	ctx   context.Context // the browser's first tab; sessions derive from it
	shots string          // the screenshot folder
}

// Find returns the path of the first browser found on PATH, or "".
func Find() string {
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start launches the headless browser for t and stops it when t ends. With
// no browser installed it skips t, or fails it when EnvRequire is 1.
// Running as root (a CI container) turns off the browser's sandbox, which
// cannot start there; otherwise the sandbox stays on.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := Find()
	if path == "" {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("no chromium on PATH (tried %s) and %s=1", strings.Join(browserNames, ", "), EnvRequire)
		}
		t.Skipf("no chromium on PATH (tried %s); set %s=1 to fail instead", strings.Join(browserNames, ", "), EnvRequire)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(Width, Height),
		chromedp.DisableGPU,
		chromedp.Flag("lang", "en-US"),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("starting %s: %v", path, err)
	}
	shots := t.TempDir()
	if os.Getenv(EnvScreenshots) == "1" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("%s=1: %v", EnvScreenshots, err)
		}
		shots = filepath.Join(root, "docs", "console")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatalf("screenshot folder: %v", err)
		}
	}
	return &Browser{ctx: ctx, shots: shots}
}

// ShotDir is the folder screenshots are written to.
func (b *Browser) ShotDir() string { return b.shots }

// repoRoot is the nearest folder above the working directory holding
// go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Session is one tab in its own browser context: its own cookies, so two
// sessions are two users.
type Session struct {
	t   testing.TB
	b   *Browser
	ctx context.Context

	mu       sync.Mutex
	problems []string // exceptions and security messages of its pages
}

// NewSession opens a tab in a fresh browser context with the 1280×800
// viewport; it closes when t ends.
func (b *Browser) NewSession(t testing.TB) *Session {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	s := &Session{t: t, b: b, ctx: ctx}
	// The first run opens the tab, which lives as long as the context of
	// that run: so no timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	// subscribe before the first page: a blocked inline script or style
	// is reported while the page loads
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Source == "security" {
				s.mu.Lock()
				s.problems = append(s.problems, m.String())
				s.mu.Unlock()
			}
		}
	}()
	if err := s.do(chromedp.EmulateViewport(Width, Height)); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return s
}

// do runs steps with ActionTimeout.
func (s *Session) do(steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(s.ctx, ActionTimeout)
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// run runs one action with ActionTimeout and returns its value.
func run[T any](s *Session, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(s.ctx, ActionTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// navigate runs steps that load a page and returns the page's HTTP status.
func (s *Session) navigate(steps ...chromedp.Action[chromedp.Void]) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, ActionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		return 0, err
	}
	if resp == nil {
		return 0, errors.New("no response")
	}
	return int(resp.Status), nil
}

// Open loads url and returns its HTTP status.
func (s *Session) Open(url string) int {
	s.t.Helper()
	status, err := s.navigate(chromedp.Navigate(url))
	if err != nil {
		s.t.Fatalf("opening %s: %v", url, err)
	}
	return status
}

// OpenOK loads url and fails unless it answers 200.
func (s *Session) OpenOK(url string) {
	s.t.Helper()
	if status := s.Open(url); status != 200 {
		s.t.Fatalf("%s answered %d, want 200; page: %.400s", url, status, s.Text())
	}
}

// Fill types value into the field sel (a CSS selector), replacing what it
// held.
func (s *Session) Fill(sel, value string) {
	s.t.Helper()
	if err := s.do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value)); err != nil {
		s.t.Fatalf("filling %s: %v", sel, err)
	}
}

// Select sets the value of the <select> or field sel without typing.
func (s *Session) Select(sel, value string) {
	s.t.Helper()
	if err := s.do(chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		s.t.Fatalf("setting %s: %v", sel, err)
	}
}

// Click clicks sel, which loads a page (a link, a form's button), and
// returns that page's HTTP status.
func (s *Session) Click(sel string) int {
	s.t.Helper()
	status, err := s.navigate(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		s.t.Fatalf("clicking %s: %v; page: %.400s", sel, err, s.Text())
	}
	return status
}

// Has reports whether the page holds an element matching sel now.
func (s *Session) Has(sel string) bool {
	s.t.Helper()
	n, err := run(s, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		s.t.Fatalf("looking for %s: %v", sel, err)
	}
	return n > 0
}

// Count is the number of elements matching sel.
func (s *Session) Count(sel string) int {
	s.t.Helper()
	n, err := run(s, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		s.t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

// Text is the page's visible text.
func (s *Session) Text() string {
	s.t.Helper()
	text, err := run(s, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		s.t.Fatalf("reading the page's text: %v", err)
	}
	return text
}

// HTML is the page's whole markup, hidden parts and attributes included.
func (s *Session) HTML() string {
	s.t.Helper()
	html, err := run(s, chromedp.Evaluate[string]("document.documentElement.outerHTML"))
	if err != nil {
		s.t.Fatalf("reading the page's markup: %v", err)
	}
	return html
}

// Location is the page's URL.
func (s *Session) Location() string {
	s.t.Helper()
	loc, err := run(s, chromedp.Location())
	if err != nil {
		s.t.Fatalf("reading the location: %v", err)
	}
	return loc
}

// Attr is the attribute name of the first element matching sel, "" when
// there is none.
func (s *Session) Attr(sel, name string) string {
	s.t.Helper()
	v, err := run(s, chromedp.Evaluate[string](fmt.Sprintf("(e => e ? (e.getAttribute(%q) || '') : '')(document.querySelector(%q))", name, sel)))
	if err != nil {
		s.t.Fatalf("reading %s's %s: %v", sel, name, err)
	}
	return v
}

// Fetch sends a request from the page with the session's cookies (the
// way a forged form or a script would) and returns the status. form is
// sent as application/x-www-form-urlencoded when method is POST.
func (s *Session) Fetch(method, url string, form map[string]string) int {
	s.t.Helper()
	var body strings.Builder
	body.WriteString("(() => { const p = new URLSearchParams();")
	for k, v := range form {
		fmt.Fprintf(&body, " p.append(%q, %q);", k, v)
	}
	fmt.Fprintf(&body, " return fetch(%q, {method: %q, credentials: 'same-origin', redirect: 'manual'", url, method)
	if method != "GET" && method != "HEAD" {
		body.WriteString(", body: p")
	}
	body.WriteString("}).then(r => r.status); })()")
	status, err := run(s, chromedp.Evaluate[int](body.String(), chromedp.EvalAwaitPromise))
	if err != nil {
		s.t.Fatalf("%s %s from the page: %v", method, url, err)
	}
	return status
}

// WaitFor reloads url until cond holds for the page's text, up to
// WaitTimeout, and fails naming what with the last page's text.
func (s *Session) WaitFor(url string, what string, cond func(text string) bool) {
	s.t.Helper()
	deadline := time.Now().Add(WaitTimeout)
	var text string
	for {
		s.Open(url)
		text = s.Text()
		if cond(text) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s on %s: not seen; page: %.600s", what, url, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shotName is what a screenshot's name may hold.
var shotName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Shot saves a full-page PNG screenshot of the page as name.png in the
// screenshot folder and returns its path. The PNG is recompressed at the
// best level, to keep the committed files small.
func (s *Session) Shot(name string) string {
	s.t.Helper()
	if !shotName.MatchString(name) {
		s.t.Fatalf("screenshot name %q: want lower-case letters, digits and dashes", name)
	}
	raw, err := run(s, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		s.t.Fatalf("screenshot %s: decoding the browser's PNG: %v", name, err)
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, img); err != nil {
		s.t.Fatalf("screenshot %s: encoding: %v", name, err)
	}
	path := filepath.Join(s.b.shots, name+".png")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	return path
}

// Eval evaluates a JavaScript expression in the page (through the
// DevTools protocol, which the page's Content-Security-Policy does not
// govern) and returns its string value.
func (s *Session) Eval(expr string) (string, error) {
	v, err := run(s, chromedp.Evaluate[string](expr))
	if err != nil {
		return "", fmt.Errorf("evaluating in the page: %w", err)
	}
	return v, nil
}

// ScrollWidth is the page's width in CSS pixels, beyond the viewport when
// something does not wrap.
func (s *Session) ScrollWidth() int {
	s.t.Helper()
	w, err := run(s, chromedp.Evaluate[int]("document.documentElement.scrollWidth"))
	if err != nil {
		s.t.Fatalf("reading the page's width: %v", err)
	}
	return w
}

// Problems are what the browser reported about the session's pages so
// far: uncaught script errors and security messages, such as an inline
// script or style the Content-Security-Policy blocked.
func (s *Session) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.problems...)
}

// NoScript turns off the page's scripts in this session, as a browser
// with JavaScript disabled: pages and forms must work without them. The
// helpers that read the page still work (they go through the DevTools
// protocol, not the page's scripts).
func (s *Session) NoScript() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, ActionTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		s.t.Fatalf("turning the page's scripts off: %v", err)
	}
}

// Back goes back in the tab's history, as the browser's Back button, and
// returns once the tab shows another document that has loaded: fetched
// again (perhaps redirected to the page it left), or restored from the
// browser's cache (which fires no load event).
func (s *Session) Back() {
	s.t.Helper()
	hist, err := run(s, chromedp.NavigationEntries())
	if err != nil {
		s.t.Fatalf("reading the tab's history: %v", err)
	}
	cur := int(hist.CurrentIndex)
	if cur <= 0 || cur >= len(hist.Entries) {
		s.t.Fatalf("going back: no earlier page in the tab's history")
	}
	// a mark on the document being left tells it from the next one
	if _, err := s.Eval(`(window.browsertestLeft = true, '')`); err != nil {
		s.t.Fatal(err)
	}
	if err := s.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: hist.Entries[cur-1].ID})
		return err
	})); err != nil {
		s.t.Fatalf("going back: %v", err)
	}
	deadline := time.Now().Add(ActionTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		state, err := s.Eval(`window.browsertestLeft ? 'old' : document.readyState`)
		if err == nil && state == "complete" {
			return
		}
	}
	s.t.Fatalf("going back from %s: no other page loaded", hist.Entries[cur].URL)
}
