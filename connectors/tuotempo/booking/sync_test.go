package booking

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeEHR serves searchset Bundles: pages[i] is the JSON of the entries of
// page i (comma-joined resources); page i links to page i+1.
type fakeEHR struct {
	mu      sync.Mutex
	pages   [][]string
	raw     string // served as is when set
	status  int
	queries []string
	srv     *httptest.Server
}

func newFakeEHR(t *testing.T) *fakeEHR {
	f := &fakeEHR{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.queries = append(f.queries, r.URL.RawQuery)
		if r.Header.Get("Authorization") != "Bearer tok" || r.URL.Path != "/fhir/Slot" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if f.status != 0 {
			w.WriteHeader(f.status)
			return
		}
		if f.raw != "" {
			fmt.Fprint(w, f.raw)
			return
		}
		n := 0
		fmt.Sscan(r.URL.Query().Get("page"), &n)
		var ents []string
		for _, res := range f.pages[n] {
			ents = append(ents, `{"resource":`+res+`}`)
		}
		link := ""
		if n+1 < len(f.pages) {
			link = fmt.Sprintf(`"link":[{"relation":"self","url":"x"},{"relation":"next","url":"Slot?page=%d"}],`, n+1)
		}
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset",%s"entry":[%s]}`, link, strings.Join(ents, ","))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeEHR) serve(pages ...[]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages, f.raw, f.status = pages, "", 0
}

func (f *fakeEHR) ep() *ehr.Endpoint {
	return &ehr.Endpoint{BaseURL: f.srv.URL + "/fhir", Token: "tok"}
}

const ehrSchedule = `{"resourceType":"Schedule","id":"sch-e","actor":[{"reference":"Practitioner/prac-e"},{"reference":"Location/loc-1"}]}`

// withUpdated sets a Slot JSON's meta.lastUpdated.
func withUpdated(slotJSON string, at time.Time) string {
	return strings.Replace(slotJSON, `{"resourceType":"Slot",`, `{"resourceType":"Slot","meta":{"lastUpdated":"`+at.UTC().Format(time.RFC3339Nano)+`"},`, 1)
}

func stored(t *testing.T, e *env, id string) string {
	t.Helper()
	body, _, err := e.st.GetResource(context.Background(), "Slot", id)
	if err != nil {
		t.Fatalf("Slot/%s: %v", id, err)
	}
	return string(body)
}

func free(t *testing.T, e *env) string {
	t.Helper()
	recs, err := call(t, e, "searchAvailabilities", map[string]string{"AVA_RESULTS_NUMBER": "50", "RESOURCE_LID": "prac-e", "AVA_END_DAY": "30/06/2026"})
	if err != nil {
		t.Fatal(err)
	}
	return ids(recs, "AVAILABILITY_LID")
}

func syncScenario(t *testing.T, url string) {
	e := newEnv(t, url, nil)
	f := newFakeEHR(t)
	ctx := context.Background()
	stale := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	e1 := slot("e1", "sch-e", "2026-06-01T08:00:00Z", 15, "free")
	e2 := slot("e2", "sch-e", "2026-06-02T08:00:00Z", 15, "free")
	e3 := slot("e3", "sch-e", "2026-06-03T08:00:00Z", 15, "free")
	far := slot("e-far", "sch-e", "2026-08-01T08:00:00Z", 15, "free") // outside the 28 days
	e.put(t, far)

	// paging, _include, a repeated id, an invalid entry
	f.serve([]string{ehrSchedule, e1, `{"resourceType":"Slot","id":"bad id"}`}, []string{e2, e3, e2})
	r, err := e.svc.SyncSlotsOnce(ctx, f.ep())
	if err != nil {
		t.Fatal(err)
	}
	if r.Pages != 2 || r.Schedules != 1 || r.Slots != 5 || r.Invalid != 1 || r.Stored != 4 || r.Removed != 0 {
		t.Errorf("first round: %+v", r)
	}
	q := f.queries[0]
	for _, want := range []string{"start=ge2026-06-01T07%3A00%3A00Z", "start=lt2026-06-29T07%3A00%3A00Z", "_include=Slot%3Aschedule", "_count=200"} {
		if !strings.Contains(q, want) {
			t.Errorf("query %q lacks %s", q, want)
		}
	}
	if got := free(t, e); got != "e1,e2,e3" {
		t.Errorf("offered after the first round: %q", got)
	}
	if r, _ := e.svc.SyncSlotsOnce(ctx, f.ep()); r.Stored != 0 {
		t.Errorf("an unchanged answer stored %d versions", r.Stored)
	}

	// the bridge books e1 and e2: their write-backs are pending
	for _, s := range []string{"e1", "e2"} {
		if rec, err := e.svc.Add(ctx, "c1", booking(s, "ACTIVITY_LID", "act-1", "USER_TID", "TT-"+s, "USER_ID_NUMBER", "N-"+s)); err != nil || rec["ADD_RESULT"] != "OK" {
			t.Fatalf("booking %s: %v %v", s, rec, err)
		}
	}
	// a stale EHR copy (free, no or an old lastUpdated) does not free them
	f.serve([]string{ehrSchedule, e1, withUpdated(e2, stale), e3})
	if r, err = e.svc.SyncSlotsOnce(ctx, f.ep()); err != nil || r.Kept != 2 || r.Stored != 0 {
		t.Errorf("stale round: %+v %v", r, err)
	}
	if !strings.Contains(stored(t, e, "e1"), `"busy"`) || !strings.Contains(stored(t, e, "e2"), `"busy"`) || free(t, e) != "e3" {
		t.Errorf("a stale copy overwrote a booking: %s / %s / %s", stored(t, e, "e1"), stored(t, e, "e2"), free(t, e))
	}
	// the EHR changed e1 after our booking: its newer word wins
	f.serve([]string{ehrSchedule, withUpdated(e1, time.Now().Add(time.Hour)), withUpdated(e2, stale), e3})
	if r, err = e.svc.SyncSlotsOnce(ctx, f.ep()); err != nil || r.Kept != 1 || r.Stored != 1 {
		t.Errorf("newer round: %+v %v", r, err)
	}
	if free(t, e) != "e1,e3" {
		t.Errorf("after the EHR's newer e1: %q", free(t, e))
	}
	// the write-backs are done: the EHR is the source again (its copy of e2 busy)
	if _, err := e.st.DB().ExecContext(ctx, e.st.Rebind(`UPDATE delivery_jobs SET state = ? WHERE flow = ?`), string(delivery.StateDelivered), Flow); err != nil {
		t.Fatal(err)
	}
	e2busy := slot("e2", "sch-e", "2026-06-02T08:00:00Z", 15, "busy")
	f.serve([]string{ehrSchedule, e1, e2busy, e3})
	if r, err = e.svc.SyncSlotsOnce(ctx, f.ep()); err != nil || r.Kept != 0 {
		t.Errorf("delivered round: %+v %v", r, err)
	}

	// an invalid copy of e1 is neither stored nor taken for a removal
	f.serve([]string{ehrSchedule, `{"resourceType":"Slot","id":"e1","status":"free"}`, e2busy, e3})
	if r, err = e.svc.SyncSlotsOnce(ctx, f.ep()); err != nil || r.Invalid != 1 || r.Removed != 0 || r.Stored != 0 {
		t.Errorf("invalid copy round: %+v %v", r, err)
	}
	// e3 and the booked e2 disappear from the EHR: entered-in-error, never offered again
	f.serve([]string{ehrSchedule, e1})
	if r, err = e.svc.SyncSlotsOnce(ctx, f.ep()); err != nil || r.Removed != 2 {
		t.Errorf("removal round: %+v %v", r, err)
	}
	if !strings.Contains(stored(t, e, "e3"), `"entered-in-error"`) || !strings.Contains(stored(t, e, "e-far"), `"free"`) || free(t, e) != "e1" {
		t.Errorf("after removal: %s / %s / %q", stored(t, e, "e3"), stored(t, e, "e-far"), free(t, e))
	}
	// cancelling the appointment on the removed e2 does not make it bookable
	recs, _ := call(t, e, "getAppointments", map[string]string{"USER_TID": "TT-e2"})
	if len(recs) != 1 {
		t.Fatalf("appointments of TT-e2: %v", recs)
	}
	if rec, err := e.svc.Cancel(ctx, "c1", recs[0]["APP_LID"], true); err != nil || rec["DELETE_RESULT"] != "OK" {
		t.Fatalf("cancel: %v %v", rec, err)
	}
	if !strings.Contains(stored(t, e, "e2"), `"entered-in-error"`) || free(t, e) != "e1" {
		t.Errorf("a cancellation revived a removed slot: %s", stored(t, e, "e2"))
	}
	if got := testutil.ToFloat64(e.svc.syncTotal.WithLabelValues(SyncOK)); got != 7 {
		t.Errorf("ok rounds counted %v, want 7", got)
	}
}

func TestSyncSlotsSQLite(t *testing.T) { syncScenario(t, sqliteURL(t)) }

func TestSyncSlotsPostgres(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	url := pgtest.CreateDatabase(t, pgtest.Start(t), "booking_sync")
	syncScenario(t, url)
}

func TestSyncSlotsErrors(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	f := newFakeEHR(t)
	ctx := context.Background()
	e1 := slot("e1", "sch-e", "2026-06-01T08:00:00Z", 15, "free")
	f.serve([]string{ehrSchedule, e1})
	if _, err := e.svc.SyncSlotsOnce(ctx, f.ep()); err != nil {
		t.Fatal(err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	secret := `SECRET-PATIENT-NAME`
	for _, c := range []struct {
		name  string
		setup func()
		ep    *ehr.Endpoint
		kind  string
	}{
		{"401", func() {}, &ehr.Endpoint{BaseURL: f.srv.URL + "/fhir", Token: "wrong"}, SyncUnauthorized},
		{"500", func() { f.status = 500 }, nil, SyncStatus},
		{"unreachable", func() {}, &ehr.Endpoint{BaseURL: closed.URL + "/fhir"}, SyncUnreachable},
		{"malformed JSON", func() { f.raw = `{"resourceType":"Bundle","entry":[{"resource":{"name":"` + secret + `"` }, nil, SyncMalformed},
		{"not a Bundle", func() { f.raw = `{"resourceType":"Patient","name":[{"text":"` + secret + `"}]}` }, nil, SyncMalformed},
		{"entry not an array", func() { f.raw = `{"resourceType":"Bundle","entry":{}}` }, nil, SyncMalformed},
		{"next link to another host", func() {
			f.raw = `{"resourceType":"Bundle","link":[{"relation":"next","url":"http://evil.example/fhir/Slot"}],"entry":[]}`
		}, nil, SyncMalformed},
		{"oversize body", func() {
			f.raw = `{"resourceType":"Bundle","entry":[],"pad":"` + strings.Repeat("x", 5000) + `"}`
			e.svc.limits.body = 4096
		}, nil, SyncOversize},
		{"too many pages", func() {
			f.pages = [][]string{{e1}, {e1}, {e1}}
			e.svc.limits.pages = 2
		}, nil, SyncLimit},
		{"too many entries", func() {
			f.pages = [][]string{{ehrSchedule, e1}}
			e.svc.limits.entries = 1
		}, nil, SyncLimit},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.serve()
			e.svc.limits = defaultSyncLimits
			f.mu.Lock()
			c.setup()
			f.mu.Unlock()
			ep := c.ep
			if ep == nil {
				ep = f.ep()
			}
			before := testutil.ToFloat64(e.svc.syncTotal.WithLabelValues(c.kind))
			_, err := e.svc.SyncSlotsOnce(ctx, ep)
			if SyncKind(err) != c.kind {
				t.Fatalf("err %v (kind %s), want kind %s", err, SyncKind(err), c.kind)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "tok") {
				t.Errorf("error echoes content: %v", err)
			}
			if got := testutil.ToFloat64(e.svc.syncTotal.WithLabelValues(c.kind)); got != before+1 {
				t.Errorf("metric %s: %v, was %v", c.kind, got, before)
			}
			// a failed round stores nothing and removes nothing
			if free(t, e) != "e1" {
				t.Errorf("after a failed round: %q", free(t, e))
			}
		})
	}
}

func TestSyncSlotsLoop(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	f := newFakeEHR(t)
	f.serve([]string{ehrSchedule, slot("e1", "sch-e", "2026-06-01T08:00:00Z", 15, "free")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		e.svc.SyncSlots(ctx, f.ep())
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(e.svc.syncTotal.WithLabelValues(SyncOK)) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first round did not run at once")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SyncSlots did not return when its context ended")
	}
	if free(t, e) != "e1" {
		t.Errorf("loop stored: %q", free(t, e))
	}
}
