package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console/browsertest"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

// The patient of the console's browser test: every value is a canary that
// must never reach a page a viewer opens, a log line or the audit log.
const (
	canaryFamily = "Quokkaberg"
	canaryGiven  = "Zebulonia"
	canaryMRN    = "MRN-QK-4471"
	canaryBirth  = "1971-07-17"
	canaryPhone  = "+1-555-0142-77"
)

// canaries are the patient's values as they could appear anywhere.
var canaries = []string{canaryFamily, canaryGiven, canaryMRN, canaryBirth, canaryPhone}

// consolePassword is every console user's password in the browser test.
const consolePassword = "browser-test-pw-1"

// consoleRoles are the users the browser test adds, one per role, each
// named after its role.
var consoleRoles = []string{"viewer", "operator", "analyst", "admin"}

// failingSolo answers every write with 422 while on (Solo refusing the
// content: a dead letter at once); reads and everything else reach the
// simulator.
type failingSolo struct {
	on  atomic.Bool
	sim http.Handler
}

func (f *failingSolo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.on.Load() && r.Method != http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"error":{"message":"mrn is invalid","code":"VALIDATION_ERROR"}}`))
		return
	}
	f.sim.ServeHTTP(w, r)
}

// startConsoleBridge starts serve with Solo's simulator behind a switch
// that makes it fail, after adding one console user per role with
// `fhirbridge console user add` (so the console is on by default, as at a
// site), and returns the bridge and the switch.
func startConsoleBridge(t *testing.T) (*testBridge, *failingSolo) {
	t.Helper()
	sim := solosim.New(solosim.Options{APIKey: "k-test", WaitingRooms: []string{"General Practice", "Telehealth"}})
	sw := &failingSolo{sim: sim}
	simSrv := httptest.NewServer(sw)
	t.Cleanup(simSrv.Close)
	t.Setenv("BRIDGE_SOLO_KEY", "k-test")
	b := &testBridge{t: t, Sim: sim, SimURL: simSrv.URL, Dir: t.TempDir()}
	text := "data_dir: " + b.Dir + "\nserver: {listen: \"127.0.0.1:0\"}\n" +
		"connectors:\n  solo: {base_url: \"" + simSrv.URL + "\", api_key: {env: BRIDGE_SOLO_KEY}}\n" +
		"  tuotempo:\n    remote: {kind: local, dir: " + filepath.Join(b.Dir, "remote") + "}\n" +
		"    exports: [{name: nightly, schedule: '30 2 * * *', timezone: UTC}]\n" + soloRoutes
	if err := os.Mkdir(filepath.Join(b.Dir, "remote"), 0o750); err != nil {
		t.Fatal(err)
	}
	b.Config = filepath.Join(b.Dir, "fhirbridge.yaml")
	if err := os.WriteFile(b.Config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, role := range consoleRoles {
		out, errOut, code := run(t, consolePassword+"\n", "console", "user", "add", role, "--role", role, "--config", b.Config)
		if code != 0 {
			t.Fatalf("console user add %s: exit %d: %s%s", role, code, out, errOut)
		}
	}
	c, err := config.Load(b.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	addr, done, err := app.Start(ctx, c, slog.New(slog.NewTextHandler(lockedWriter{&b.mu, &b.logs}, nil)))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	b.Base, b.done = "http://"+addr, done
	t.Cleanup(b.Stop)
	return b, sw
}

// consoleBundle is a transaction of the canary patient (id pid) and, when
// appt is set, an appointment of theirs tomorrow.
func consoleBundle(pid string, appt bool) string {
	patient := `{"resourceType":"Patient","id":"` + pid + `",
 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:mrn","value":"` + canaryMRN + `"}],
 "name":[{"use":"official","family":"` + canaryFamily + `","given":["` + canaryGiven + `"]}],
 "telecom":[{"system":"phone","value":"` + canaryPhone + `","use":"mobile"}],
 "gender":"female","birthDate":"` + canaryBirth + `"}`
	entries := `{"resource":` + patient + `,"request":{"method":"PUT","url":"Patient/` + pid + `"}}`
	if appt {
		start := time.Now().Add(26 * time.Hour).UTC().Truncate(time.Hour)
		entries += `,{"resource":{"resourceType":"Appointment","id":"appt-` + pid + `","status":"booked",
 "start":"` + start.Format(time.RFC3339) + `","end":"` + start.Add(30*time.Minute).Format(time.RFC3339) + `",
 "participant":[{"actor":{"reference":"Patient/` + pid + `"},"status":"accepted"}]},
 "request":{"method":"PUT","url":"Appointment/appt-` + pid + `"}}`
	}
	return `{"resourceType":"Bundle","type":"transaction","entry":[` + entries + `]}`
}

// login signs role's user in through the login form and lands on the
// console's first page.
func login(t *testing.T, br *browsertest.Browser, base, role string) *browsertest.Session {
	t.Helper()
	s := br.NewSession(t)
	noProblems(t, s, role)
	signIn(t, s, base, role)
	return s
}

// signIn logs role's user in on s through the login form.
func signIn(t *testing.T, s *browsertest.Session, base, role string) {
	t.Helper()
	s.OpenOK(base + "/console/login")
	s.Fill(`input[name=user]`, role)
	s.Fill(`input[name=password]`, consolePassword)
	if status := s.Click(`form[action="/console/login"] button[type=submit]`); status != http.StatusOK {
		t.Fatalf("logging in as %s: page %d: %.300s", role, status, s.Text())
	}
	if !strings.Contains(s.Text(), role+" · "+role) {
		t.Fatalf("logged in as %s, the header does not say so: %.300s", role, s.Text())
	}
}

// noCanary fails when the page's markup (hidden fields and attributes
// included) carries a patient value.
func noCanary(t *testing.T, s *browsertest.Session, page string) {
	t.Helper()
	html := s.HTML()
	for _, v := range canaries {
		if strings.Contains(html, v) {
			t.Errorf("the viewer's page %s carries the patient value %q", page, v)
		}
	}
}

// jobLink matches the Deliveries page's links to one job.
var jobLink = regexp.MustCompile(`href="/console/deliveries/(\d+)"`)

// messageLink matches the Messages page's links to one message.
var messageLink = regexp.MustCompile(`href="/console/messages/(\d+)"`)

// TestConsoleBrowser drives the console in headless Chromium, as the
// people on call would, through serve with Solo's simulator and one
// console user per role added by `fhirbridge console user add`:
//   - log in through the form;
//   - Solo refuses (422): the Bundle's patient shows on the Deliveries
//     page as a dead letter;
//   - a viewer sees no patient value on any page it can open (every
//     navigation page, every message, every job), has no Retry button, and
//     a retry it forges with its own CSRF token is refused (403) and does
//     nothing; the analyst's pages do show the values, so the check can
//     fail;
//   - the operator's retry form posted without its CSRF token is refused
//     (403) and does nothing;
//   - Solo fixed, the operator retries the dead letters from the
//     Deliveries page through the confirmation showing their count, and
//     the job turns delivered (and Solo holds the patient);
//   - the analyst finds the transaction by the patient's identifier (an
//     unknown one finds nothing), and runs the workbench on the stored Patients with an
//     edited mapping and reads the field diff;
//   - the admin's audit log names the retry and the PHI views, and holds
//     no patient value; neither does serve's log;
//   - with JavaScript off, the operator logs in, reads every navigation
//     page and logs out (after which a page asks to log in again);
//   - Back after logging out does not show a page of patient data from
//     the browser's cache;
//   - no page makes the browser report a script error or a blocked
//     inline script or style (the Content-Security-Policy at work), and
//     every screenshotted page fits the 1280-pixel width.
//
// Each page is saved as a screenshot (docs/console/*.png with
// FHIRBRIDGE_SCREENSHOTS=1).
func TestConsoleBrowser(t *testing.T) {
	br := browsertest.Start(t) // skips without chromium, before serve starts
	b, solo := startConsoleBridge(t)
	base := b.Base

	// a delivered patient and appointment, for the message pages and the
	// workbench
	post(t, base+"/fhir", consoleBundle("pat-qk1", true), http.StatusOK)
	b.Wait("the first patient and appointment at Solo", func() bool {
		return len(b.Sim.Patients()) == 1 && len(b.Sim.Appointments()) == 1
	})

	anon := br.NewSession(t)
	noProblems(t, anon, "the anonymous browser")
	anon.OpenOK(base + "/console/login")
	shot(t, anon, "login")
	if status := anon.Open(base + "/console/deliveries"); status != http.StatusOK || !strings.Contains(anon.Location(), "/console/login") {
		t.Errorf("an anonymous Deliveries page: %d at %s, want the login form", status, anon.Location())
	}

	operator := login(t, br, base, "operator")

	// Solo refuses: the second patient is a dead letter
	solo.on.Store(true)
	post(t, base+"/fhir", consoleBundle("pat-qk2", false), http.StatusOK)
	var dead string
	operator.WaitFor(base+"/console/deliveries?state=dlq", "the dead letter", func(text string) bool {
		return strings.Contains(text, "Patient/pat-qk2")
	})
	if m := jobLink.FindStringSubmatch(operator.HTML()); m != nil {
		dead = m[1]
	} else {
		t.Fatal("the dead letter has no link to its job")
	}
	if got := operator.Count(`form[action$="/retry"] button`); got != 1 {
		t.Errorf("%d Retry buttons for the operator on one dead letter, want 1", got)
	}
	shot(t, operator, "deliveries")
	jobURL := base + "/console/deliveries/" + dead
	stateOf := func(s *browsertest.Session) string {
		s.OpenOK(jobURL)
		text := s.Text()
		for _, st := range []string{"delivered", "dlq", "pending", "in_flight", "discarded"} {
			if regexp.MustCompile(`State\s+` + st + `\b`).MatchString(text) {
				return st
			}
		}
		t.Fatalf("job %s: no state on its page: %.400s", dead, text)
		return ""
	}

	t.Run("viewer", func(t *testing.T) {
		viewer := login(t, br, base, "viewer")
		pages := map[string]bool{}
		for _, a := range navLinks(t, viewer) {
			pages[a] = true
		}
		for _, want := range []string{"/console/dashboard", "/console/messages", "/console/deliveries", "/console/files"} {
			if !pages[want] {
				t.Errorf("the viewer's navigation lacks %s (has %v)", want, pages)
			}
		}
		for _, refused := range []string{"/console/workbench", "/console/audit", "/console/users"} {
			if pages[refused] {
				t.Errorf("the viewer's navigation offers %s", refused)
			}
		}
		viewer.OpenOK(base + "/console/messages")
		for _, m := range messageLink.FindAllStringSubmatch(viewer.HTML(), -1) {
			pages["/console/messages/"+m[1]] = true
		}
		viewer.OpenOK(base + "/console/deliveries")
		for _, m := range jobLink.FindAllStringSubmatch(viewer.HTML(), -1) {
			pages["/console/deliveries/"+m[1]] = true
		}
		if len(pages) < 8 {
			t.Errorf("the viewer opened %d pages, want the 4 navigation pages and the messages and jobs", len(pages))
		}
		for p := range pages {
			viewer.OpenOK(base + p)
			noCanary(t, viewer, p)
			if n := viewer.Count(`form[action*="/retry"], form[action*="/discard"], form[action*="/run"], form[action*="/reprocess"]`); n != 0 {
				t.Errorf("the viewer's page %s offers %d action forms", p, n)
			}
		}
		viewer.OpenOK(base + "/console/messages")
		shot(t, viewer, "messages-viewer")
		for _, p := range []string{"/console/workbench", "/console/audit", "/console/users", "/console/deliveries/retry-dead"} {
			if status := viewer.Open(base + p); status != http.StatusForbidden {
				t.Errorf("the viewer opened %s: %d, want 403", p, status)
			}
		}
		if m := messageLink.FindStringSubmatch(mustOpen(t, viewer, base+"/console/messages")); m != nil {
			if status := viewer.Open(base + "/console/messages/" + m[1] + "/phi"); status != http.StatusForbidden {
				t.Errorf("the viewer opened a message's patient data: %d, want 403", status)
			}
			noCanary(t, viewer, "the refused patient-data page")
		}
		// a retry the viewer forges, with its own valid CSRF token
		viewer.OpenOK(base + "/console/deliveries")
		token := viewer.Attr(`input[name=csrf]`, "value")
		if token == "" {
			t.Fatal("no CSRF token in the viewer's page (the logout form has one)")
		}
		if status := viewer.Fetch("POST", jobURL+"/retry", map[string]string{"csrf": token}); status != http.StatusForbidden {
			t.Errorf("the viewer's forged retry: %d, want 403", status)
		}
		if status := viewer.Fetch("POST", base+"/console/deliveries/retry-dead", map[string]string{"csrf": token, "state": "dlq", "max": dead, "count": "1"}); status != http.StatusForbidden {
			t.Errorf("the viewer's forged bulk retry: %d, want 403", status)
		}
		solo.on.Store(false) // would the retry have run, it would deliver now
		time.Sleep(300 * time.Millisecond)
		if st := stateOf(operator); st != "dlq" {
			t.Errorf("after the viewer's refused retry the job is %s, want dlq", st)
		}
		solo.on.Store(true)
	})

	t.Run("csrf", func(t *testing.T) {
		operator.OpenOK(base + "/console/deliveries?state=dlq")
		// the real form, posted by the browser without its token
		if n, err := operatorStrip(operator); err != nil || n == "0" {
			t.Fatalf("removing the forms' CSRF fields: %s removed, %v", n, err)
		}
		if status := operator.Click(`form[action$="/retry"] button`); status != http.StatusForbidden {
			t.Errorf("the retry form without its CSRF token: %d, want 403", status)
		}
		if status := operator.Fetch("POST", jobURL+"/retry", map[string]string{"csrf": "forged-token"}); status != http.StatusForbidden {
			t.Errorf("the retry with a forged CSRF token: %d, want 403", status)
		}
		if status := operator.Fetch("POST", base+"/console/logout", nil); status != http.StatusForbidden {
			t.Errorf("log out without the CSRF token: %d, want 403", status)
		}
		solo.on.Store(false)
		time.Sleep(300 * time.Millisecond)
		if st := stateOf(operator); st != "dlq" {
			t.Errorf("after the refused posts the job is %s, want dlq", st)
		}
	})

	t.Run("retry", func(t *testing.T) {
		solo.on.Store(false) // Solo fixed
		operator.OpenOK(base + "/console/deliveries?state=dlq")
		if status := operator.Click(`a[href^="/console/deliveries/retry-dead"]`); status != http.StatusOK {
			t.Fatalf("the bulk retry's confirmation: %d", status)
		}
		if got := strings.TrimSpace(mustText(t, operator, "strong.count")); got != "1" {
			t.Errorf("the confirmation counts %q dead letters, want 1", got)
		}
		shot(t, operator, "retry-confirm")
		if status := operator.Click(`form[action="/console/deliveries/retry-dead"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("confirming the retry: %d: %.300s", status, operator.Text())
		}
		if !strings.Contains(operator.Text(), "1 dead letters queued to run now") {
			t.Errorf("after the retry: %.300s", operator.Text())
		}
		operator.WaitFor(jobURL, "the job delivered", func(text string) bool {
			return regexp.MustCompile(`State\s+delivered\b`).MatchString(text)
		})
		shot(t, operator, "delivery-job")
		if n := len(b.Sim.Patients()); n != 2 {
			t.Errorf("Solo holds %d patients after the retry, want 2", n)
		}
		operator.OpenOK(base + "/console/deliveries")
		if n, d := operator.Count("td.state-dlq"), operator.Count("td.state-delivered"); n != 0 || d != 3 {
			t.Errorf("the Deliveries page after the retry: %d dead letters and %d delivered, want 0 and 3", n, d)
		}
		operator.OpenOK(base + "/console/dashboard")
		shot(t, operator, "dashboard")
		operator.OpenOK(base + "/console/files")
		if status := operator.Click(`form[action="/console/files/exports/nightly/run"] button`); status != http.StatusOK {
			t.Fatalf("running the export now: %d: %.300s", status, operator.Text())
		}
		if !strings.Contains(operator.Text(), "The export ran") || !strings.Contains(operator.Text(), "nightly") {
			t.Errorf("the export's run is not in the ledger: %.600s", operator.Text())
		}
		shot(t, operator, "exports")
	})

	analyst := login(t, br, base, "analyst")
	t.Run("messages", func(t *testing.T) {
		analyst.OpenOK(base + "/console/messages")
		shot(t, analyst, "messages")
		ids := messageLink.FindAllStringSubmatch(analyst.HTML(), -1)
		if len(ids) == 0 {
			t.Fatal("no message listed")
		}
		// the inbound transaction is the oldest listed: newest first
		seen := false
		for i := len(ids) - 1; i >= 0 && !seen; i-- {
			analyst.OpenOK(base + "/console/messages/" + ids[i][1] + "/phi")
			seen = strings.Contains(analyst.HTML(), canaryFamily)
		}
		if !seen {
			t.Fatal("no message shows the analyst the patient's name: the viewer's check proves nothing")
		}
		// the screenshot shows each route's mapped output, opened
		if _, err := analyst.Eval(`(document.querySelectorAll('details').forEach(d => d.open = true), '')`); err != nil {
			t.Fatal(err)
		}
		shot(t, analyst, "message")

		// a search by the patient's identifier finds the transaction
		analyst.OpenOK(base + "/console/messages")
		analyst.Fill(`input[name=identifier]`, "urn:mrn|"+canaryMRN)
		if status := analyst.Click(`form.filters button[type=submit]`); status != http.StatusOK {
			t.Fatalf("searching by identifier: %d: %.300s", status, analyst.Text())
		}
		if got := messageLink.FindAllStringSubmatch(analyst.HTML(), -1); len(got) == 0 || !strings.Contains(analyst.Text(), "fhir.transaction") {
			t.Errorf("the search by the patient's identifier found %d messages, want the transactions: %.400s", len(got), analyst.Text())
		}
		analyst.Fill(`input[name=identifier]`, "urn:mrn|MRN-NOBODY")
		analyst.Click(`form.filters button[type=submit]`)
		if got := messageLink.FindAllStringSubmatch(analyst.HTML(), -1); len(got) != 0 {
			t.Errorf("the search by an unknown identifier found %d messages", len(got))
		}
	})

	t.Run("workbench", func(t *testing.T) {
		analyst.OpenOK(base + "/console/workbench?mapping=route:solo-patients")
		edited, err := textareaValue(analyst, `textarea[name=edited]`)
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(edited, "    from: gender\n", "    from: \"gender.upper()\"\n", 1)
		if changed == edited {
			t.Fatalf("the workbench's mapping text has no gender field: %.300s", edited)
		}
		analyst.Select(`textarea[name=edited]`, changed)
		now := time.Now().UTC()
		analyst.Select(`input[name=since]`, now.Add(-time.Hour).Format("2006-01-02T15:04"))
		analyst.Select(`input[name=until]`, now.Add(time.Hour).Format("2006-01-02T15:04"))
		// the screenshot shows the edited line, selected
		if _, err := analyst.Eval(`(() => { const e = document.querySelector('textarea[name=edited]');
			const i = e.value.indexOf('gender.upper()'); e.focus(); e.setSelectionRange(i, i + 14);
			const lh = parseFloat(getComputedStyle(e).lineHeight) || 16;
			e.scrollTop = Math.max(0, (e.value.slice(0, i).split('\n').length - 8) * lh); return ''; })()`); err != nil {
			t.Fatal(err)
		}
		shot(t, analyst, "workbench")
		if status := analyst.Click(`form[action="/console/workbench/run"] button[type=submit]`); status != http.StatusOK {
			t.Fatalf("running the workbench: %d: %.300s", status, analyst.Text())
		}
		run := analyst.Location()
		analyst.WaitFor(run, "the run done", func(text string) bool { return !strings.Contains(text, "This page refreshes by itself") })
		inputs, changedN := mustText(t, analyst, "#n-inputs"), mustText(t, analyst, "#n-changed")
		if n, _ := strconv.Atoi(strings.Fields(inputs)[0]); n < 2 {
			t.Errorf("the run read %q stored Patients, want the 2 versions", inputs)
		}
		if n, _ := strconv.Atoi(changedN); n < 1 {
			t.Errorf("the run changed %q outputs, want every one", changedN)
		}
		text := analyst.Text()
		for _, want := range []string{"gender", "female", "FEMALE"} {
			if !strings.Contains(text, want) {
				t.Errorf("the diff lacks %q: %.600s", want, text)
			}
		}
		shot(t, analyst, "workbench-diff")
	})

	t.Run("noscript", func(t *testing.T) {
		// the pages are read, and the forms posted, with JavaScript off
		s := br.NewSession(t)
		noProblems(t, s, "the browser without JavaScript")
		s.NoScript()
		signIn(t, s, base, "operator")
		for _, p := range navLinks(t, s) {
			s.OpenOK(base + p)
			if !s.Has("main h1") || !s.Has("main table") {
				t.Errorf("without JavaScript, %s shows no heading or table: %.300s", p, s.Text())
			}
		}
		s.OpenOK(jobURL)
		if !regexp.MustCompile(`State\s+delivered\b`).MatchString(s.Text()) {
			t.Errorf("without JavaScript, the job page: %.300s", s.Text())
		}
		// logging out ends the session: the next page asks to log in
		if status := s.Click(`form[action="/console/logout"] button`); status != http.StatusOK || !s.Has(`form[action="/console/login"]`) {
			t.Errorf("logging out: %d at %s", status, s.Location())
		}
		s.Open(base + "/console/deliveries")
		if !strings.Contains(s.Location(), "/console/login") {
			t.Errorf("after logging out the Deliveries page opened at %s, want the login form", s.Location())
		}
	})

	t.Run("back-after-logout", func(t *testing.T) {
		// a page of patient data is not kept by the browser: Back after
		// logging out asks the server again, which asks to log in
		s := login(t, br, base, "analyst")
		s.OpenOK(base + "/console/messages")
		m := messageLink.FindAllStringSubmatch(s.HTML(), -1)
		s.OpenOK(base + "/console/messages/" + m[len(m)-1][1] + "/phi")
		if !strings.Contains(s.HTML(), canaryFamily) {
			t.Fatalf("the oldest message shows no patient data to the analyst: %.300s", s.Text())
		}
		s.Click(`form[action="/console/logout"] button`)
		s.Back()
		if html := s.HTML(); strings.Contains(html, canaryFamily) || !strings.Contains(s.Location(), "/console/login") {
			t.Errorf("Back after logging out shows %s with the patient's data: %t", s.Location(), strings.Contains(html, canaryFamily))
		}
	})

	t.Run("audit", func(t *testing.T) {
		admin := login(t, br, base, "admin")
		admin.OpenOK(base + "/console/audit")
		text := admin.Text()
		for _, want := range []string{"delivery.retry_dead", "phi.view", "login", "user.add"} {
			if !strings.Contains(text, want) {
				t.Errorf("the audit log lacks %s: %.600s", want, text)
			}
		}
		for _, v := range canaries {
			if strings.Contains(admin.HTML(), v) {
				t.Errorf("the audit log carries the patient value %q", v)
			}
		}
		shot(t, admin, "audit")
		admin.OpenOK(base + "/console/users")
		for _, role := range consoleRoles {
			if !strings.Contains(admin.Text(), role) {
				t.Errorf("the users page lacks %s", role)
			}
		}
		shot(t, admin, "users")
	})

	b.Stop()
	b.NoCanary(canaries...)
}

// navLinks are the hrefs of the page's navigation.
func navLinks(t *testing.T, s *browsertest.Session) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`<a href="(/console/[^"]*)"`).FindAllStringSubmatch(navHTML(t, s), -1) {
		out = append(out, m[1])
	}
	return out
}

// navHTML is the markup of the page's <nav>.
func navHTML(t *testing.T, s *browsertest.Session) string {
	t.Helper()
	html := s.HTML()
	i, j := strings.Index(html, "<nav>"), strings.Index(html, "</nav>")
	if i < 0 || j < i {
		t.Fatalf("no navigation on the page: %.300s", s.Text())
	}
	return html[i:j]
}

// mustOpen opens url (200) and returns its markup.
func mustOpen(t *testing.T, s *browsertest.Session, url string) string {
	t.Helper()
	s.OpenOK(url)
	return s.HTML()
}

// mustText is the text of the first element matching sel.
func mustText(t *testing.T, s *browsertest.Session, sel string) string {
	t.Helper()
	v, err := s.Eval(`(e => e ? e.innerText : '\x00')(document.querySelector(` + strconv.Quote(sel) + `))`)
	if err != nil {
		t.Fatal(err)
	}
	if v == "\x00" {
		t.Fatalf("no %s on the page: %.300s", sel, s.Text())
	}
	return strings.TrimSpace(v)
}

// textareaValue is the current value of a form field.
func textareaValue(s *browsertest.Session, sel string) (string, error) {
	return s.Eval(`document.querySelector(` + strconv.Quote(sel) + `).value`)
}

// operatorStrip removes the CSRF fields of the page's forms, as a form
// forged on another site would lack them, and returns how many it removed.
func operatorStrip(s *browsertest.Session) (string, error) {
	return s.Eval(`(() => { const f = document.querySelectorAll('form input[name=csrf]'); f.forEach(e => e.remove()); return String(f.length); })()`)
}

// shot saves the page as a screenshot after checking that it fits the
// 1280-pixel viewport's width (nothing unwrapped makes it scroll
// sideways).
func shot(t *testing.T, s *browsertest.Session, name string) {
	t.Helper()
	if w := s.ScrollWidth(); w > browsertest.Width {
		t.Errorf("page %s is %d px wide, wider than the %d px viewport: something does not wrap", name, w, browsertest.Width)
	}
	s.Shot(name)
}

// noProblems fails t, when it ends, if the browser reported an uncaught
// script error or a security message (an inline script or style the
// console's Content-Security-Policy blocked, say) on any page of s.
func noProblems(t *testing.T, s *browsertest.Session, who string) {
	t.Cleanup(func() {
		for _, p := range s.Problems() {
			t.Errorf("the browser of %s reported: %s", who, p)
		}
	})
}
