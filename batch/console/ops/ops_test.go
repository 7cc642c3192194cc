package ops_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
	_ "github.com/fhirbridge/fhirbridge/batch/console/ops"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	_ "github.com/fhirbridge/fhirbridge/connectors/tuotempo"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// PHI canaries: values of the stored Patient that no viewer page, log
// line or audit row may show.
const (
	canaryName  = "Canaryson"
	canaryMRN   = "MRN-CANARY-4711"
	canaryPhone = "555-0100"
)

func patientJSON(id string) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":%q,
	 "identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"value":%q}],
	 "name":[{"use":"official","family":%q,"given":["Tweety"]}],
	 "telecom":[{"system":"phone","value":%q}],
	 "gender":"male","birthDate":"1983-08-15"}`, id, canaryMRN, canaryName, canaryPhone)
}

// storeURL names a fresh store for t: an SQLite file, or a new
// PostgreSQL database while TestPostgres runs the suite.
var storeURL = func(t *testing.T) string { return filepath.Join(t.TempDir(), "fhirbridge.db") }

// rig is a console on a real store with serve's pieces: a delivery
// runner sending to Solo's simulator, and the tuOtempO module exporting
// to a local folder.
type rig struct {
	*consoletest.Env
	st     *store.Store
	sim    *solosim.Sim
	runner *delivery.Runner
	cancel context.CancelFunc
	done   chan error
	remote string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, storeURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { _ = sim.Close(); srv.Close() })
	conn, err := solo.New(solo.Config{BaseURL: srv.URL, APIKey: solosim.DefaultAPIKey, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := shipped.Path("solo/patient")
	m, err := mapping.Load(shipped.FS, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := delivery.NewRunner(ctx, st, map[string]delivery.Flow{
		solo.FlowPatient: {Mapping: m, Connector: conn, Vendor: "solo"},
	}, delivery.Options{PollInterval: 5 * time.Millisecond, BackoffBase: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(dir, "remote")
	if err := os.Mkdir(remote, 0o750); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfgPath, []byte("connectors:\n  tuotempo:\n    remote: {kind: local, dir: "+remote+"}\n"+
		"    exports: [{name: nightly, schedule: '30 2 * * *', timezone: UTC}]\n    cancellations: [{name: cancels}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := bridge.Build(c.ConnectorSection, c)
	if err != nil {
		t.Fatal(err)
	}
	env := consoletest.NewServer(t, consoletest.WithStore(st), consoletest.WithConfig(c),
		consoletest.WithOptions(func(o *console.Options) { o.Ops = console.Ops{Runner: runner, Modules: mods} }))
	r := &rig{Env: env, st: st, sim: sim, runner: runner, remote: remote}
	t.Cleanup(r.stop)
	return r
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.runner.Run(ctx) }()
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

// put stores a Patient and enqueues its delivery.
func (r *rig) put(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		v, _, err := tx.PutResource(ctx, "Patient", id, []byte(patientJSON(id)))
		if err != nil {
			return err
		}
		return delivery.Enqueue(ctx, tx, delivery.Job{Flow: solo.FlowPatient, ResourceType: "Patient", ResourceID: id, Version: v})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jobs lists the jobs in state.
func (r *rig) jobs(t *testing.T, state delivery.State) []delivery.JobInfo {
	t.Helper()
	js, err := delivery.NewQueue(r.st).List(context.Background(), delivery.Filter{State: state})
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// deadLetters enqueues n Patients and makes their jobs dead letters
// without sending them (the runner is not running).
func (r *rig) deadLetters(t *testing.T, prefix string, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		r.put(t, id)
		if _, err := r.st.DB().Exec(r.st.Rebind(`UPDATE delivery_jobs SET state = 'dlq', attempts = 1, last_error = 'permanent: status 422' WHERE resource_id = ?`), id); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// audit returns the audit rows of action.
func (r *rig) audit(t *testing.T, action string) []console.AuditEntry {
	t.Helper()
	es, err := console.ListAudit(context.Background(), r.st, console.AuditFilter{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// postNoCSRF posts form as role without the CSRF token.
func (r *rig) postNoCSRF(t *testing.T, role console.Role, path string, form url.Values) int {
	t.Helper()
	resp, err := r.Client(role).PostForm(r.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDeadLetterRetriedFromConsole: Solo refuses a Patient (422), its job
// is a dead letter on the Deliveries page; an operator retries it from
// the console, it is pending, and the runner delivers it to the
// simulator; the retry is in the audit log with the job's id.
func TestDeadLetterRetriedFromConsole(t *testing.T) {
	r := newRig(t)
	r.sim.Inject(solosim.Fault{Method: "POST", Path: "/qapi/v1/patients", Status: 422, Times: 1})
	r.put(t, "pat-1")
	r.start()
	waitFor(t, "the dead letter", func() bool { return len(r.jobs(t, delivery.StateDeadLetter)) == 1 })
	r.stop()
	id := r.jobs(t, delivery.StateDeadLetter)[0].ID
	code, body := r.Get(t, console.RoleOperator, "/console/deliveries?state=dlq")
	if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`action="/console/deliveries/%d/retry"`, id)) {
		t.Fatalf("deliveries page (%d) lacks the dead letter's retry form:\n%s", code, body)
	}
	code, _ = r.PostForm(t, console.RoleOperator, fmt.Sprintf("/console/deliveries/%d/retry", id), nil)
	if code != http.StatusSeeOther {
		t.Fatalf("retry answered %d, want 303", code)
	}
	if js := r.jobs(t, delivery.StatePending); len(js) != 1 || js[0].ID != id {
		t.Fatalf("pending after retry = %+v, want job %d", js, id)
	}
	code, body = r.Get(t, console.RoleOperator, fmt.Sprintf("/console/deliveries/%d?done=retry", id))
	if code != http.StatusOK || !strings.Contains(body, "queued to run now") || !strings.Contains(body, "pending") {
		t.Errorf("job page after retry (%d):\n%s", code, body)
	}
	r.start()
	waitFor(t, "delivered after the retry", func() bool { return len(r.jobs(t, delivery.StateDelivered)) == 1 })
	if n := len(r.sim.Patients()); n != 1 {
		t.Errorf("the simulator holds %d patients, want 1", n)
	}
	rows := r.audit(t, "delivery.retry")
	if len(rows) != 1 || rows[0].User != "operator" || rows[0].Target != fmt.Sprintf("job %d", id) {
		t.Errorf("audit of the retry = %+v", rows)
	}
	code, body = r.Get(t, console.RoleViewer, "/console/dashboard?refresh=off")
	if code != http.StatusOK || !regexp.MustCompile(`(?s)solo</td>\s*<td><a [^>]*>`+solo.FlowPatient+`</a></td>\s*<td><span class="circuit-closed">closed`).MatchString(body) {
		t.Errorf("dashboard (%d) lacks the solo flow with a closed circuit:\n%s", code, body)
	}
}

var countRe = regexp.MustCompile(`<strong class="count">(\d+)</strong>`)
var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

// TestBulkRetryConfirmation: the confirmation page counts the dead
// letters the filter selects; confirming retries exactly that many (a
// letter dead after the page was shown, or of another flow or time, is
// left); the audit row holds the counts.
func TestBulkRetryConfirmation(t *testing.T) {
	r := newRig(t)
	r.deadLetters(t, "a", 4)
	// an old dead letter outside the time filter
	r.deadLetters(t, "old", 1)
	if _, err := r.st.DB().Exec(r.st.Rebind(`UPDATE delivery_jobs SET updated_at = ? WHERE resource_id = 'old-0'`), time.Now().Add(-48*time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	since := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
	code, body := r.Get(t, console.RoleOperator, "/console/deliveries/retry-dead?vendor=solo&since="+since)
	m := countRe.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || m[1] != "4" {
		t.Fatalf("confirmation (%d) does not count 4 dead letters:\n%s", code, body)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(body, -1) {
		if h[1] != "csrf" {
			form.Set(h[1], h[2])
		}
	}
	if form.Get("count") != "4" || form.Get("since") != since || form.Get("vendor") != "solo" {
		t.Fatalf("confirmation form = %v", form)
	}
	r.deadLetters(t, "late", 1) // dies after the operator saw the count
	code, _ = r.PostForm(t, console.RoleOperator, "/console/deliveries/retry-dead", form)
	if code != http.StatusSeeOther {
		t.Fatalf("bulk retry answered %d, want 303", code)
	}
	pending := r.jobs(t, delivery.StatePending)
	if len(pending) != 4 {
		t.Errorf("%d jobs pending after the bulk retry, want the 4 confirmed", len(pending))
	}
	for _, j := range pending {
		if !strings.HasPrefix(j.ResourceID, "a-") {
			t.Errorf("job %d (%s) retried, not confirmed", j.ID, j.ResourceID)
		}
	}
	if n := len(r.jobs(t, delivery.StateDeadLetter)); n != 2 {
		t.Errorf("%d dead letters left, want the old and the late one", n)
	}
	rows := r.audit(t, "delivery.retry_dead")
	if len(rows) != 1 || !strings.Contains(rows[0].Target, "confirmed 4, retried 4") {
		t.Errorf("audit of the bulk retry = %+v", rows)
	}
	code, body = r.Get(t, console.RoleOperator, "/console/deliveries?done=retried&n=4")
	if code != http.StatusOK || !strings.Contains(body, "4 dead letters queued to run now.") {
		t.Errorf("notice after the bulk retry (%d) missing", code)
	}
	// nothing selected: the page says so and offers no form
	_, body = r.Get(t, console.RoleOperator, "/console/deliveries/retry-dead?flow=nope")
	if !strings.Contains(body, "nothing to retry") || strings.Contains(body, `action="/console/deliveries/retry-dead"`) {
		t.Errorf("empty confirmation:\n%s", body)
	}
}

// TestViewerReadsOnly: a viewer reads every page of the package without
// a PHI canary and without an action form, and gets 403 on every action
// (nothing changes); the analyst's download is refused to an operator.
func TestViewerReadsOnly(t *testing.T) {
	r := newRig(t)
	r.deadLetters(t, "v", 2)
	id := r.jobs(t, delivery.StateDeadLetter)[0].ID
	var inID int64
	if err := r.st.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		inID, err = ledger.Record(context.Background(), tx, ledger.Entry{Direction: ledger.In, Job: "cancels", Path: "in/c1.csv", SHA256: "ab", Outcome: ledger.OutcomeOK})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/console/dashboard", "/console/deliveries", "/console/deliveries?state=dlq&vendor=solo",
		fmt.Sprintf("/console/deliveries/%d", id), "/console/files", "/console/files?direction=in"} {
		code, body := r.Get(t, console.RoleViewer, path)
		if code != http.StatusOK {
			t.Errorf("viewer GET %s: %d", path, code)
		}
		for _, canary := range []string{canaryName, canaryMRN, canaryPhone, "1983-08-15"} {
			if strings.Contains(body, canary) {
				t.Errorf("viewer GET %s shows patient data %q", path, canary)
			}
		}
		if strings.Contains(body, "/retry\"") || strings.Contains(body, "/discard\"") || strings.Contains(body, "/reprocess\"") ||
			strings.Contains(body, "/run\"") || strings.Contains(body, "/download\"") {
			t.Errorf("viewer GET %s offers an action", path)
		}
	}
	posts := []string{fmt.Sprintf("/console/deliveries/%d/retry", id), fmt.Sprintf("/console/deliveries/%d/discard", id),
		"/console/deliveries/retry-dead", "/console/files/exports/nightly/run", fmt.Sprintf("/console/files/%d/reprocess", inID)}
	for _, path := range posts {
		if code, _ := r.PostForm(t, console.RoleViewer, path, url.Values{"max": {strconv.FormatInt(id+5, 10)}, "count": {"2"}}); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", path, code)
		}
	}
	if code, _ := r.Get(t, console.RoleViewer, "/console/deliveries/retry-dead"); code != http.StatusForbidden {
		t.Errorf("viewer GET the bulk confirmation: %d, want 403", code)
	}
	if code, _ := r.Get(t, console.RoleOperator, "/console/files/1/download"); code != http.StatusForbidden {
		t.Errorf("operator GET a download: %d, want 403 (analyst only)", code)
	}
	if n := len(r.jobs(t, delivery.StateDeadLetter)); n != 2 {
		t.Errorf("%d dead letters after the viewer's posts, want 2 untouched", n)
	}
	entries, err := ledger.List(context.Background(), r.st, ledger.Filter{Direction: ledger.Out})
	if err != nil || len(entries) != 0 {
		t.Errorf("the viewer's run now ran an export: %+v, %v", entries, err)
	}
}

// TestActionsWithoutCSRFRefused: an operator's action posted without the
// session's CSRF token is refused with 403 and changes nothing.
func TestActionsWithoutCSRFRefused(t *testing.T) {
	r := newRig(t)
	r.deadLetters(t, "c", 1)
	id := r.jobs(t, delivery.StateDeadLetter)[0].ID
	for _, path := range []string{fmt.Sprintf("/console/deliveries/%d/retry", id), fmt.Sprintf("/console/deliveries/%d/discard", id),
		"/console/deliveries/retry-dead", "/console/files/exports/nightly/run"} {
		if code := r.postNoCSRF(t, console.RoleOperator, path, url.Values{"max": {strconv.FormatInt(id, 10)}, "count": {"1"}}); code != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d, want 403", path, code)
		}
		if code := r.postNoCSRF(t, console.RoleOperator, path, url.Values{"csrf": {"forged"}, "max": {strconv.FormatInt(id, 10)}, "count": {"1"}}); code != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: %d, want 403", path, code)
		}
	}
	if n := len(r.jobs(t, delivery.StateDeadLetter)); n != 1 {
		t.Errorf("%d dead letters after the refused posts, want 1", n)
	}
	if rows := r.audit(t, "delivery.retry"); len(rows) != 0 {
		t.Errorf("refused posts audited as retries: %+v", rows)
	}
}

// TestExportRunNowAndDownload: an operator runs an export now (uploaded,
// in the ledger, audited); the Exports and files page shows its schedule
// and next run and the file; an analyst downloads it (audited as a PHI
// view), byte for byte what the remote holds.
func TestExportRunNowAndDownload(t *testing.T) {
	r := newRig(t)
	code, body := r.Get(t, console.RoleOperator, "/console/files")
	if code != http.StatusOK || !strings.Contains(body, "nightly") || !strings.Contains(body, "30 2 * * * UTC") ||
		!strings.Contains(body, `action="/console/files/exports/nightly/run"`) {
		t.Fatalf("files page (%d) lacks the schedule and its run now:\n%s", code, body)
	}
	code, _ = r.PostForm(t, console.RoleOperator, "/console/files/exports/nightly/run", nil)
	if code != http.StatusSeeOther {
		t.Fatalf("run now answered %d, want 303", code)
	}
	entries, err := ledger.List(context.Background(), r.st, ledger.Filter{Direction: ledger.Out, Job: "nightly"})
	if err != nil || len(entries) != 1 || entries[0].Outcome != ledger.OutcomeOK {
		t.Fatalf("ledger after run now = %+v, %v", entries, err)
	}
	if rows := r.audit(t, "export.run"); len(rows) != 1 || rows[0].Target != "export job nightly: uploaded" {
		t.Errorf("audit of run now = %+v", rows)
	}
	if code, _ := r.PostForm(t, console.RoleOperator, "/console/files/exports/nope/run", nil); code != http.StatusNotFound {
		t.Errorf("run now of an unknown job: %d, want 404", code)
	}
	e := entries[0]
	_, body = r.Get(t, console.RoleAnalyst, "/console/files?direction=out")
	link := fmt.Sprintf("/console/files/%d/download", e.ID)
	if !strings.Contains(body, link) {
		t.Fatalf("analyst's files page lacks the download link %s", link)
	}
	resp, err := r.Client(console.RoleAnalyst).Get(r.URL + link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := new(strings.Builder)
	if _, err := fmt.Fprint(got, readBody(t, resp)); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(r.remote, e.Path))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || got.String() != string(want) || resp.Header.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download: %d %v, %d bytes, want the %d bytes of the remote's file", resp.StatusCode, resp.Header, got.Len(), len(want))
	}
	if rows := r.audit(t, "phi.view"); len(rows) != 1 || rows[0].User != "analyst" || !strings.Contains(rows[0].Target, fmt.Sprintf("ledger entry %d", e.ID)) {
		t.Errorf("the download's PHI view audit = %+v", rows)
	}
	_, body = r.Get(t, console.RoleViewer, "/console/dashboard")
	if !strings.Contains(body, e.Path) || !strings.Contains(body, "outcome-ok") {
		t.Errorf("dashboard lacks the last export %s", e.Path)
	}
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// TestBadFilters: every malformed filter is a 400 whose message names
// the parameter and never echoes the value.
func TestBadFilters(t *testing.T) {
	r := newRig(t)
	cases := []struct{ path, want string }{
		{"/console/deliveries?state=gone", "state filter"},
		{"/console/deliveries?vendor=nobody", "vendor filter"},
		{"/console/deliveries?vendor=solo&flow=other", "vendor&#39;s flows"},
		{"/console/deliveries?since=yesterday", "since filter"},
		{"/console/deliveries?until=2026-13-01T00:00", "until filter"},
		{"/console/deliveries?before=-3", "before"},
		{"/console/deliveries/abc", "job id"},
		{"/console/deliveries/999", "No such delivery job"},
		{"/console/files?direction=sideways", "direction filter"},
		{"/console/files?before=x", "before"},
	}
	for _, c := range cases {
		code, body := r.Get(t, console.RoleOperator, c.path)
		if code != http.StatusBadRequest && code != http.StatusNotFound || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d, want 400/404 saying %q:\n%s", c.path, code, c.want, body)
		}
		for _, v := range []string{"gone", "nobody", "yesterday", "sideways"} {
			if strings.Contains(body, v) {
				t.Errorf("GET %s echoes the value %q", c.path, v)
			}
		}
	}
}

// TestReprocessFromConsole: an operator reprocesses an inbound file the
// ledger holds: the module whose job it is reads it again from the remote
// and records a new ledger entry (the next generation); the action is
// audited with the ledger id and job; the dashboard lists the feed and
// its last file.
func TestReprocessFromConsole(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	const name = "cancellations_20261201.csv"
	csv := "APP_LID;USER_LANDLINE_PHONE;USER_MOBILE_PHONE;USER_EMAIL;RESOURCE_LID;STATUS\r\n" +
		"appt-nobody;;+34600000001;;prac-1;CANCELLED by ADMIN\r\n"
	if err := os.WriteFile(filepath.Join(r.remote, name), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := r.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		id, err = ledger.Record(ctx, tx, ledger.Entry{Direction: ledger.In, Job: "cancels", Path: name, SHA256: "00", Outcome: ledger.OutcomeFailed})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	code, body := r.Get(t, console.RoleOperator, "/console/files?direction=in")
	if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`action="/console/files/%d/reprocess"`, id)) {
		t.Fatalf("files page (%d) lacks the reprocess form:\n%s", code, body)
	}
	if code, _ := r.PostForm(t, console.RoleOperator, fmt.Sprintf("/console/files/%d/reprocess", id), nil); code != http.StatusSeeOther {
		t.Fatalf("reprocess answered %d, want 303", code)
	}
	entries, err := ledger.List(ctx, r.st, ledger.Filter{Direction: ledger.In, Job: "cancels"})
	if err != nil || len(entries) != 2 || entries[0].Path == "" || entries[0].RowsOK+entries[0].RowsFailed != 1 {
		t.Fatalf("ledger after reprocess = %+v, %v; want a new entry with the file's one row", entries, err)
	}
	if rows := r.audit(t, "file.reprocess"); len(rows) != 1 || rows[0].Target != fmt.Sprintf("ledger entry %d (job cancels): done", id) {
		t.Errorf("audit of the reprocess = %+v", rows)
	}
	if code, _ := r.PostForm(t, console.RoleOperator, "/console/files/999/reprocess", nil); code != http.StatusNotFound {
		t.Errorf("reprocess of a missing entry: %d, want 404", code)
	}
	_, body = r.Get(t, console.RoleViewer, "/console/dashboard")
	if !strings.Contains(body, "<td>cancels</td>") || !strings.Contains(body, entries[0].Path) {
		t.Errorf("dashboard lacks the feed cancels and its last file:\n%s", body)
	}
	if strings.Contains(body, "+34600000001") {
		t.Error("the dashboard shows a phone of the file")
	}
}

// TestDashboardRefresh: the dashboard reloads itself through the Refresh
// header (no script), and ?refresh=off stops it; its answer is not cached.
func TestDashboardRefresh(t *testing.T) {
	r := newRig(t)
	for _, c := range []struct{ path, want string }{{"/console/dashboard", "30"}, {"/console/dashboard?refresh=off", ""}} {
		resp, err := r.Client(console.RoleViewer).Get(r.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Refresh") != c.want || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: %d, Refresh %q, Cache-Control %q; want Refresh %q, no-store", c.path, resp.StatusCode,
				resp.Header.Get("Refresh"), resp.Header.Get("Cache-Control"), c.want)
		}
	}
}
