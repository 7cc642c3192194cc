package workbench

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/mapping/casetest"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// canary stands for patient data: it may appear on the analyst's diff
// page only, never in the audit log.
const canary = "Qzcanaryfamily"

func env(t *testing.T) *consoletest.Env {
	t.Helper()
	st := storetest.Open(t,
		`{"resourceType":"Patient","id":"p1","gender":"female","name":[{"use":"official","family":"`+canary+`","given":["Ana"]}]}`,
		`{"resourceType":"Patient","id":"p2","gender":"male","name":[{"use":"official","family":"`+canary+`"}]}`,
		`{"resourceType":"Patient","id":"p3","name":[{"use":"official","family":"`+canary+`"}]}`,
	)
	cfg := &config.Config{Routes: []config.Route{{Name: "pts", Resource: "Patient", Mapping: "solo/patient", Connector: "solo"}}}
	return consoletest.NewServer(t, consoletest.WithStore(st), consoletest.WithConfig(cfg))
}

// shippedText is the text of the shipped mapping name.
func shippedText(t *testing.T, name string) string {
	t.Helper()
	p, ok := shipped.Path(name)
	if !ok {
		t.Fatalf("no shipped %s", name)
	}
	b, err := shipped.FS.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// post posts form as role with the CSRF token and returns the response.
func post(t *testing.T, e *consoletest.Env, r console.Role, path string, form url.Values) *http.Response {
	t.Helper()
	form.Set("csrf", e.CSRF(r))
	resp, err := e.Client(r).PostForm(e.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// run starts a run and waits for it to finish; it returns the job path
// and the finished page.
func run(t *testing.T, e *consoletest.Env, form url.Values) (string, string) {
	t.Helper()
	resp := post(t, e, console.RoleAnalyst, "/console/workbench/run", form)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/workbench/jobs/") {
		t.Fatalf("run answered %s, Location %q", resp.Status, loc)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, body := e.Get(t, console.RoleAnalyst, loc)
		if code != http.StatusOK {
			t.Fatalf("job page: %d", code)
		}
		if !strings.Contains(body, "refreshes by itself") {
			return loc, body
		}
	}
	t.Fatal("the run did not finish")
	return "", ""
}

func audit(t *testing.T, e *consoletest.Env) []console.AuditEntry {
	t.Helper()
	rows, err := console.ListAudit(context.Background(), e.Store, console.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestRoles(t *testing.T) {
	e := env(t)
	for _, tc := range []struct {
		role console.Role
		want int
	}{
		{console.RoleViewer, http.StatusForbidden},
		{console.RoleOperator, http.StatusForbidden},
		{console.RoleAnalyst, http.StatusOK},
		{console.RoleAdmin, http.StatusOK},
	} {
		if code, _ := e.Get(t, tc.role, "/console/workbench"); code != tc.want {
			t.Errorf("%s: GET /console/workbench = %d, want %d", tc.role, code, tc.want)
		}
	}
	t.Run("no CSRF token", func(t *testing.T) {
		resp, err := e.Client(console.RoleAnalyst).PostForm(e.URL+"/console/workbench/run", url.Values{"mapping": {"route:pts"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST without the CSRF token: %s", resp.Status)
		}
	})
}

func TestRunOnStoredRange(t *testing.T) {
	e := env(t)
	code, body := e.Get(t, console.RoleAnalyst, "/console/workbench?mapping=route:pts")
	if code != http.StatusOK || !strings.Contains(body, "name: solo/patient") || !strings.Contains(body, "A forward mapping") {
		t.Fatalf("the form does not hold the route's mapping text: %d\n%s", code, body)
	}
	edited := strings.Replace(shippedText(t, "solo/patient"), "    from: gender\n", "    from: \"gender.upper()\"\n", 1)
	now := time.Now().UTC()
	loc, page := run(t, e, url.Values{"mapping": {"route:pts"}, "edited": {edited}, "source": {"range"},
		"since": {now.Add(-time.Hour).Format(timeForm)}, "until": {now.Add(time.Hour).Format(timeForm)}})
	for _, want := range []string{`id="n-inputs">3<`, `id="n-changed">2<`, "<code>gender</code>", `&#34;FEMALE&#34;`, canary} {
		if !strings.Contains(page, want) {
			t.Errorf("the finished page lacks %q", want)
		}
	}
	id := strings.TrimPrefix(loc, "/console/workbench/jobs/")
	var run, phi bool
	for _, a := range audit(t, e) {
		if strings.Contains(a.Target, canary) || strings.Contains(a.Action, canary) {
			t.Errorf("the audit log holds patient data: %+v", a)
		}
		run = run || a.Action == "workbench.run" && strings.Contains(a.Target, id) && a.User == "analyst"
		phi = phi || a.Action == "phi.view" && strings.Contains(a.Target, id)
	}
	if !run || !phi {
		t.Fatalf("audit: run %v, phi view %v", run, phi)
	}
	t.Run("only its analyst sees it", func(t *testing.T) {
		code, body := e.Get(t, console.RoleAdmin, loc)
		if code != http.StatusNotFound || strings.Contains(body, canary) {
			t.Fatalf("another user: %d", code)
		}
	})
	t.Run("listed on the form", func(t *testing.T) {
		_, body := e.Get(t, console.RoleAnalyst, "/console/workbench")
		if !strings.Contains(body, `href="`+loc+`"`) || strings.Contains(body, canary) {
			t.Fatal("the run is not listed, or the list shows patient data")
		}
	})
	t.Run("cases download", func(t *testing.T) {
		resp := post(t, e, console.RoleAnalyst, loc+"/cases", url.Values{"n": {"1", "2"}})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != `attachment; filename="patient.cases.yaml"` ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s %v", resp.Status, resp.Header)
		}
		if b := readBody(t, resp); !strings.Contains(string(b), "cases:\n  - name: \"Patient/") {
			t.Fatalf("cases:\n%s", b)
		}
		found := false
		for _, a := range audit(t, e) {
			found = found || a.Action == "workbench.cases" && strings.Contains(a.Target, "2 cases")
		}
		if !found {
			t.Fatal("the download is not audited")
		}
		resp = post(t, e, console.RoleAnalyst, loc+"/cases", url.Values{"n": {"99"}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("an input not kept: %s", resp.Status)
		}
	})
}

func TestRunOnPaste(t *testing.T) {
	e := env(t)
	edited := strings.Replace(shippedText(t, "tuotempo/cancellation"), "PENDING: pending", "PENDING: proposed", 1)
	loc, page := run(t, e, url.Values{"mapping": {"shipped:tuotempo/cancellation"}, "edited": {edited}, "source": {"paste"},
		"paste": {"APP_LID,USER_LANDLINE_PHONE,USER_MOBILE_PHONE,USER_EMAIL,RESOURCE_LID,STATUS\r\na1,,,,r1,PENDING\r\na2,,,,r1,APPROVED\r\n"}})
	for _, want := range []string{`id="n-inputs">2<`, `id="n-changed">1<`, "<code>[0].status</code>", "&#34;proposed&#34;"} {
		if !strings.Contains(page, want) {
			t.Errorf("the finished page lacks %q", want)
		}
	}
	resp := post(t, e, console.RoleAnalyst, loc+"/cases", url.Values{"n": {"1"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != `attachment; filename="cancellation.cases.yaml"` {
		t.Fatalf("cases: %s %v", resp.Status, resp.Header)
	}
	if _, err := casetest.Parse(fileOf(t, "x.cases.yaml", readBody(t, resp)), "x.cases.yaml"); err != nil {
		t.Fatalf("the downloaded cases do not parse: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	e := env(t)
	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"edited text does not compile", url.Values{"mapping": {"shipped:solo/patient"}, "edited": {shippedText(t, "solo/patient") + "bogus: 1\n"}, "source": {"paste"}},
			"solo/patient.yaml:"},
		{"a reverse mapping on the store", url.Values{"mapping": {"shipped:tuotempo/cancellation"}, "edited": {shippedText(t, "tuotempo/cancellation")}, "source": {"range"},
			"since": {now.Add(-time.Hour).Format(timeForm)}, "until": {now.Format(timeForm)}}, "reads pasted input only"},
		{"range backwards", url.Values{"mapping": {"route:pts"}, "edited": {shippedText(t, "solo/patient")}, "source": {"range"},
			"since": {now.Format(timeForm)}, "until": {now.Add(-time.Hour).Format(timeForm)}}, "start before its end"},
		{"bad paste", url.Values{"mapping": {"route:pts"}, "edited": {shippedText(t, "solo/patient")}, "source": {"paste"}, "paste": {`{"resourceType":"Appointment"}`}},
			"a Appointment; the mapping reads Patient"},
		{"a file of the host", url.Values{"mapping": {"file:/etc/passwd"}, "edited": {"x"}, "source": {"paste"}}, "choose a mapping"},
		{"unknown route", url.Values{"mapping": {"route:nope"}, "edited": {"x"}, "source": {"paste"}}, "no route of that name"},
		{"range unreadable", url.Values{"mapping": {"route:pts"}, "edited": {shippedText(t, "solo/patient")}, "source": {"range"},
			"since": {"yesterday"}, "until": {now.Format(timeForm + ":05")}}, "start before its end"},
		{"cap too large", url.Values{"mapping": {"route:pts"}, "max": {"1000001"}}, "Inputs at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, e, console.RoleAnalyst, "/console/workbench/run", tc.form)
			if b := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%s, want the form again with %q:\n%s", resp.Status, tc.want, b)
			}
		})
	}
}

// readBody reads a response body.
func readBody(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fileOf is a file system holding one file.
func fileOf(t *testing.T, name string, data []byte) fstest.MapFS {
	t.Helper()
	return fstest.MapFS{name: {Data: data}}
}
