package messages_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/console/consoletest"
	_ "github.com/fhirbridge/fhirbridge/batch/console/messages"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
)

// canary marks every patient value of the fixture: a page a viewer opens,
// and the audit log, must never hold it.
const canary = "CANARY"

// fixture is what fill stored.
type fixture struct {
	in, delivered, dead int64
}

var t0 = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

// fill stores an inbound Bundle (identifier and patient values marked
// with the canary) that stored Patient/p1, its delivery (body with the
// patient's name, vendor id mapped back), a dead letter and 60 retries
// of other resources, one minute apart from t0.
func fill(t *testing.T, st *store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	var f fixture
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if _, _, err := tx.PutResource(ctx, "Patient", "p1",
			[]byte(`{"resourceType":"Patient","id":"p1","name":[{"family":"CANARYNAME"}],"identifier":[{"system":"urn:mrn","value":"MRN-CANARY-7"}]}`)); err != nil {
			return err
		}
		if _, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", "MRN-CANARY-7", "p1"); err != nil {
			return err
		}
		if err := tx.LinkVendorID(ctx, "solo", "Patient", "p1", "SOLO-991"); err != nil {
			return err
		}
		// job 1, the one delivery job of Patient/p1 version 1
		if err := delivery.Enqueue(ctx, tx, delivery.Job{Flow: "solo-patient", ResourceType: "Patient", ResourceID: "p1", Version: 1}); err != nil {
			return err
		}
		var err error
		if f.in, err = tx.LogMessage(ctx, store.Message{At: t0, Direction: store.In, Kind: "fhir.transaction",
			Status: store.StatusAccepted, Outcome: "stored", Identifier: "BUNDLE-CANARY-1",
			Resources: []store.MessageResource{{Type: "Patient", ID: "p1", Version: 1}}}); err != nil {
			return err
		}
		if f.delivered, err = tx.LogMessage(ctx, store.Message{At: t0.Add(time.Minute), Direction: store.Out, Kind: "solo-patient.create",
			ResourceType: "Patient", ResourceID: "p1", Vendor: "solo", Status: store.StatusDelivered, Outcome: "ok",
			Body: []byte(`{"lastName":"CANARYNAME"}`), JobID: 1, StatusCode: 201, Elapsed: 42 * time.Millisecond}); err != nil {
			return err
		}
		if f.dead, err = tx.LogMessage(ctx, store.Message{At: t0.Add(2 * time.Minute), Direction: store.Out, Kind: "tyto-appt",
			ResourceType: "Appointment", ResourceID: "a1", Vendor: "tyto", Status: store.StatusDeadLetter,
			Outcome: "HTTP 422: rejected", JobID: 8, StatusCode: 422}); err != nil {
			return err
		}
		for i := range 60 {
			if _, err := tx.LogMessage(ctx, store.Message{At: t0.Add(time.Duration(3+i) * time.Minute), Direction: store.Out,
				Kind: "tyto-appt", ResourceType: "Appointment", ResourceID: fmt.Sprintf("r%d", i), Vendor: "tyto",
				Status: store.StatusPending, Outcome: "HTTP 503", JobID: int64(100 + i), StatusCode: 503}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var rowID = regexp.MustCompile(`<td><a href="/console/messages/(\d+)">`)
var nextLink = regexp.MustCompile(`<a href="/console/messages\?([^"]+)">Older messages</a>`)

// ids lists the message ids of a list page, in order.
func ids(body string) []string {
	var out []string
	for _, m := range rowID.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestListFiltersAndPaging(t *testing.T) {
	storetest.Each(t, "msglist", func(t *testing.T, st *store.Store) {
		testListFiltersAndPaging(t, consoletest.NewServer(t, consoletest.WithStore(st)))
	})
}

func testListFiltersAndPaging(t *testing.T, e *consoletest.Env) {
	f := fill(t, e.Store)
	// all: 63 messages, 50 then 13, newest first, no repeats
	code, body := e.Get(t, console.RoleViewer, "/console/messages")
	if code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	first := ids(body)
	next := nextLink.FindStringSubmatch(body)
	if len(first) != 50 || next == nil {
		t.Fatalf("first page: %d rows, next link %v", len(first), next)
	}
	code, body = e.Get(t, console.RoleViewer, "/console/messages?"+html.UnescapeString(next[1]))
	second := ids(body)
	if code != http.StatusOK || len(second) != 13 || nextLink.MatchString(body) {
		t.Fatalf("second page: %d, %d rows, next link %v", code, len(second), nextLink.MatchString(body))
	}
	if second[12] != fmt.Sprint(f.in) || first[0] == second[0] {
		t.Errorf("pages out of order: first %v, second %v", first[:3], second)
	}
	for _, c := range []struct {
		name, query string
		want        []int64
	}{
		{"status", "status=dlq", []int64{f.dead}},
		{"resource with type", "resource=Patient%2Fp1", []int64{f.delivered, f.in}},
		{"resource id", "resource=a1", []int64{f.dead}},
		{"vendor id", "vendor_id=SOLO-991", []int64{f.delivered, f.in}},
		{"vendor and direction", "vendor=solo&direction=out", []int64{f.delivered}},
		{"source", "kind=fhir.transaction", []int64{f.in}},
		{"time range", "since=2026-04-01T08:00&until=2026-04-01T08:02", []int64{f.delivered, f.in}},
		{"nothing", "vendor=nobody", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.Get(t, console.RoleViewer, "/console/messages?"+c.query)
			var want []string
			for _, id := range c.want {
				want = append(want, fmt.Sprint(id))
			}
			if got := ids(body); code != http.StatusOK || strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: %d, ids %v, want %v", c.query, code, got, want)
			}
		})
	}
	for _, q := range []string{"since=yesterday", "after=garbage", "direction=sideways", "resource=" + strings.Repeat("x", 300)} {
		code, body := e.Get(t, console.RoleViewer, "/console/messages?"+q)
		if code != http.StatusBadRequest || !strings.Contains(body, "Bad search") {
			t.Errorf("%s: %d, want 400 with the reason", q, code)
		}
	}
	if code, _ := e.Get(t, console.RoleViewer, "/console/messages/999999"); code != http.StatusNotFound {
		t.Errorf("unknown message: %d, want 404", code)
	}
	if code, _ := e.Get(t, console.RoleViewer, "/console/messages/x"); code != http.StatusBadRequest {
		t.Errorf("malformed id: %d, want 400", code)
	}
}

func TestViewerSeesNoPHI(t *testing.T) {
	storetest.Each(t, "msgviewer", func(t *testing.T, st *store.Store) {
		testViewerSeesNoPHI(t, consoletest.NewServer(t, consoletest.WithStore(st)))
	})
}

func testViewerSeesNoPHI(t *testing.T, e *consoletest.Env) {
	f := fill(t, e.Store)
	for _, role := range []console.Role{console.RoleViewer, console.RoleOperator, console.RoleAnalyst} {
		for _, path := range []string{"/console/messages", fmt.Sprintf("/console/messages/%d", f.in),
			fmt.Sprintf("/console/messages/%d", f.delivered), "/console/messages?resource=p1"} {
			code, body := e.Get(t, role, path)
			if code != http.StatusOK || strings.Contains(body, canary) {
				t.Errorf("%s %s: %d, canary shown %v", role, path, code, strings.Contains(body, canary))
			}
		}
	}
	// the stages show what a viewer may see: ids, statuses, codes, timings
	_, body := e.Get(t, console.RoleViewer, fmt.Sprintf("/console/messages/%d", f.in))
	for _, want := range []string{"Patient/p1", "solo-patient.create", "201", "42ms", "SOLO-991", "delivered", "<td>1</td><td>solo-patient</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("viewer's stages lack %q", want)
		}
	}
	if strings.Contains(body, "/phi") {
		t.Errorf("a viewer is offered the patient data view")
	}
	for _, role := range []console.Role{console.RoleViewer, console.RoleOperator} {
		if code, body := e.Get(t, role, fmt.Sprintf("/console/messages/%d/phi", f.in)); code != http.StatusForbidden || strings.Contains(body, canary) {
			t.Errorf("%s opening the patient data view: %d", role, code)
		}
		if code, body := e.Get(t, role, "/console/messages?identifier=MRN-CANARY-7"); code != http.StatusForbidden || strings.Contains(body, canary) {
			t.Errorf("%s searching by identifier: %d", role, code)
		}
	}
	if n := phiViews(t, e); n != 0 {
		t.Errorf("%d PHI views audited, want none", n)
	}
}

func TestAnalystSeesPHIAudited(t *testing.T) {
	storetest.Each(t, "msganalyst", func(t *testing.T, st *store.Store) {
		testAnalystSeesPHIAudited(t, consoletest.NewServer(t, consoletest.WithStore(st)))
	})
}

func testAnalystSeesPHIAudited(t *testing.T, e *consoletest.Env) {
	f := fill(t, e.Store)
	code, body := e.Get(t, console.RoleAnalyst, fmt.Sprintf("/console/messages/%d/phi", f.in))
	if code != http.StatusOK {
		t.Fatalf("analyst's view: %d", code)
	}
	// the stored version as received and the mapped output
	if !strings.Contains(body, "MRN-CANARY-7") || !strings.Contains(body, "lastName") {
		t.Errorf("the analyst's view lacks the bodies")
	}
	if n := phiViews(t, e); n != 1 {
		t.Errorf("%d PHI views audited, want 1", n)
	}
	// searching by an identifier: the Bundle's, or a resource's
	for _, c := range []struct {
		q    string
		want []int64
	}{
		{"BUNDLE-CANARY-1", []int64{f.in}},
		{"urn:mrn|MRN-CANARY-7", []int64{f.delivered, f.in}},
	} {
		code, body := e.Get(t, console.RoleAnalyst, "/console/messages?identifier="+url.QueryEscape(c.q))
		var want []string
		for _, id := range c.want {
			want = append(want, fmt.Sprint(id))
		}
		if got := ids(body); code != http.StatusOK || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("identifier %s: %d, ids %v, want %v", c.q, code, got, want)
		}
	}
	if n := phiViews(t, e); n != 3 {
		t.Errorf("%d PHI views audited, want 3", n)
	}
	entries, err := console.ListAudit(context.Background(), e.Store, console.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if strings.Contains(en.Target, canary) || strings.Contains(en.Action, canary) {
			t.Errorf("audit row %d holds patient data", en.ID)
		}
		if en.Action == "phi.view" && en.User != "analyst" {
			t.Errorf("audit row %d: user %q", en.ID, en.User)
		}
	}
}

// phiViews counts the audit log's PHI views.
func phiViews(t *testing.T, e *consoletest.Env) int {
	t.Helper()
	entries, err := console.ListAudit(context.Background(), e.Store, console.AuditFilter{Action: "phi.view", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
