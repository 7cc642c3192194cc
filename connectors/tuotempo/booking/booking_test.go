package booking

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// clock is the tests' fixed now: Monday 1 June 2026, 09:00 in Madrid.
var clock = time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)

func sqliteURL(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "s.db") }

type env struct {
	st     *store.Store
	router *delivery.Router
	svc    *Service
}

func newEnv(t testing.TB, url string, cfg *Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if cfg == nil {
		cfg = &Config{Centers: []ws.Center{{LID: "c1", Name: "Centro", Locations: []string{"loc-1"}}}, IDNumberSystem: "urn:oid:dni"}
	}
	router := &delivery.Router{}
	svc, err := New(cfg, st, router, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.now = func() time.Time { return clock }
	router.Observe(svc.Observer())
	return &env{st, router, svc}
}

// put stores JSON resources through the router, as ingest does.
func (e *env) put(t testing.TB, docs ...string) {
	t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *store.Tx) error {
		for _, d := range docs {
			v, err := fhir.DecodeString(d, fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			typ, id := v.ResourceType(), v.GetString("id")
			ver, changed, err := tx.PutValue(ctx, typ, id, v)
			if err != nil {
				return err
			}
			if changed {
				if err := e.router.Route(ctx, tx, typ, id, ver, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func slot(id, sched, start string, min int, status string) string {
	s, _ := time.Parse(time.RFC3339, start)
	return fmt.Sprintf(`{"resourceType":"Slot","id":%q,"schedule":{"reference":"Schedule/%s"},"status":%q,"start":%q,"end":%q}`,
		id, sched, status, start, s.Add(time.Duration(min)*time.Minute).Format(time.RFC3339))
}

// seed: two practitioners at loc-1 (sch-1 offers act-1 only, sch-2 all),
// one at loc-9 (another center); prac-2 takes ins-1 only.
func (e *env) seed(t testing.TB) {
	e.put(t,
		`{"resourceType":"Practitioner","id":"prac-1","name":[{"family":"Uno","given":["Ana"]}]}`,
		`{"resourceType":"HealthcareService","id":"act-1","name":"Cardio"}`,
		`{"resourceType":"Schedule","id":"sch-1","actor":[{"reference":"Practitioner/prac-1"},{"reference":"Location/loc-1"},{"reference":"HealthcareService/act-1"}]}`,
		`{"resourceType":"Schedule","id":"sch-2","actor":[{"reference":"Practitioner/prac-2"},{"reference":"Location/loc-1"}]}`,
		`{"resourceType":"Schedule","id":"sch-3","actor":[{"reference":"Practitioner/prac-3"},{"reference":"Location/loc-9"}]}`,
		`{"resourceType":"PractitionerRole","id":"role-2","practitioner":{"reference":"Practitioner/prac-2"},"extension":[{"url":"urn:fhirbridge:tuotempo:insurance","valueReference":{"reference":"InsurancePlan/ins-1"}}]}`,
		slot("s-past", "sch-1", "2026-06-01T06:00:00Z", 15, "free"),  // before now
		slot("s1", "sch-1", "2026-06-01T08:00:00Z", 15, "free"),      // 10:00 local
		slot("s2", "sch-2", "2026-06-01T08:30:00Z", 15, "free"),      // 10:30
		slot("s3", "sch-1", "2026-06-01T14:00:00Z", 15, "free"),      // 16:00
		slot("s4", "sch-2", "2026-06-03T08:00:00Z", 15, "free"),      // 3 June 10:00
		slot("s-busy", "sch-1", "2026-06-01T09:00:00Z", 15, "busy"),  //
		slot("s-other", "sch-3", "2026-06-01T08:00:00Z", 15, "free"), // other center
		slot("s-late", "sch-1", "2026-06-20T08:00:00Z", 15, "free"),  // beyond a week
	)
}

func call(t testing.TB, e *env, name string, p map[string]string) ([]ws.Record, error) {
	t.Helper()
	for _, op := range e.svc.Operations() {
		if op.Name == name {
			return op.Call(context.Background(), &ws.Request{Center: "c1", Params: p})
		}
	}
	t.Fatalf("no operation %s", name)
	return nil, nil
}

func ids(recs []ws.Record, field string) string {
	var out []string
	for _, r := range recs {
		out = append(out, r[field])
	}
	return strings.Join(out, ",")
}

func TestSearchAvailabilities(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	cases := []struct {
		name string
		p    map[string]string
		want string
		kind ws.Kind
	}{
		{"defaults: today for a week, after now, center's locations, free only", map[string]string{"AVA_RESULTS_NUMBER": "10"}, "s1,s2,s3,s4", 0},
		{"results number caps", map[string]string{"AVA_RESULTS_NUMBER": "2"}, "s1,s2", 0},
		{"resource", map[string]string{"AVA_RESULTS_NUMBER": "10", "RESOURCE_LID": "prac-2"}, "s2,s4", 0},
		{"activity: a schedule naming none offers all", map[string]string{"AVA_RESULTS_NUMBER": "10", "ACTIVITY_LID": "act-7"}, "s2,s4", 0},
		{"insurance: prac-1 names none (no filter), prac-2 takes ins-1", map[string]string{"AVA_RESULTS_NUMBER": "10", "INSURANCE_LID": "ins-2"}, "s1,s3", 0},
		{"insurance taken", map[string]string{"AVA_RESULTS_NUMBER": "10", "INSURANCE_LID": "ins-1"}, "s1,s2,s3,s4", 0},
		{"start and end day", map[string]string{"AVA_RESULTS_NUMBER": "10", "AVA_START_DAY": "02/06/2026", "AVA_END_DAY": "20/06/2026"}, "s4,s-late", 0},
		{"start time on the start day, end time on the end day", map[string]string{"AVA_RESULTS_NUMBER": "10", "AVA_START_TIME": "10:15", "AVA_END_DAY": "03/06/2026", "AVA_END_TIME": "10:00"}, "s2,s3", 0},
		{"time-of-day window", map[string]string{"AVA_RESULTS_NUMBER": "10", "AVA_MIN_TIME": "10:00", "AVA_MAX_TIME": "12:00"}, "s1,s2,s4", 0},
		{"over max_results", map[string]string{"AVA_RESULTS_NUMBER": "101"}, "", ws.BadRequest},
		{"bad day", map[string]string{"AVA_RESULTS_NUMBER": "1", "AVA_START_DAY": "2026/06/01"}, "", ws.BadRequest},
		{"bad time", map[string]string{"AVA_RESULTS_NUMBER": "1", "AVA_MIN_TIME": "25:00"}, "", ws.BadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs, err := call(t, e, "searchAvailabilities", c.p)
			if ws.KindOf(err) != c.kind || (c.kind == 0 && err != nil) {
				t.Fatalf("err %v, want kind %v", err, c.kind)
			}
			if got := ids(recs, "AVAILABILITY_LID"); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	recs, _ := call(t, e, "searchAvailabilities", map[string]string{"AVA_RESULTS_NUMBER": "1", "ACTIVITY_LID": "act-1", "INSURANCE_LID": "ins-3"})
	want := ws.Record{"RESOURCE_LID": "prac-1", "ACTIVITY_LID": "act-1", "INSURANCE_LID": "ins-3", "AVA_DATE": "01/06/2026",
		"AVA_START_TIME": "10:00", "AVAILABILITY_LID": "s1", "AVA_END_TIME": "10:15"}
	if fmt.Sprint(recs) != fmt.Sprint([]ws.Record{want}) {
		t.Errorf("record %v, want %v", recs, want)
	}
}

func TestScheduleChangeMovesItsSlots(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	e.put(t, `{"resourceType":"Schedule","id":"sch-3","actor":[{"reference":"Practitioner/prac-3"},{"reference":"Location/loc-1"}]}`)
	recs, _ := call(t, e, "searchAvailabilities", map[string]string{"AVA_RESULTS_NUMBER": "10", "RESOURCE_LID": "prac-3"})
	if got := ids(recs, "AVAILABILITY_LID"); got != "s-other" {
		t.Errorf("after the schedule moved to the center: %q", got)
	}
}

func TestIndexRebuiltAtNew(t *testing.T) {
	url := sqliteURL(t)
	e := newEnv(t, url, nil)
	e.seed(t)
	if _, err := e.st.DB().Exec(`DELETE FROM booking_slots; DELETE FROM booking_meta`); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, url, nil)
	recs, _ := call(t, e2, "searchAvailabilities", map[string]string{"AVA_RESULTS_NUMBER": "10"})
	if got := ids(recs, "AVAILABILITY_LID"); got != "s1,s2,s3,s4" {
		t.Errorf("after rebuild: %q", got)
	}
}

func booking(slot string, extra ...string) map[string]string {
	p := map[string]string{"ACTIVITY_LID": "act-1", "AVAILABILITY_LID": slot, "USER_TID": "TT-1", "USER_FIRST_NAME": "Ana",
		"USER_SECOND_NAME": "Secret", "USER_MOBILE_PHONE": "600000001", "USER_ID_NUMBER": "12345678Z"}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	return p
}

func TestAddAppointment(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	ctx := context.Background()
	rec, err := e.svc.Add(ctx, "c1", booking("s1", "APP_DATE", "01/06/2026", "APP_START_TIME", "10:00"))
	if err != nil || rec["ADD_RESULT"] != "OK" || rec["APP_LID"] == "" || rec["USER_LID"] == "" {
		t.Fatalf("add: %v %v", rec, err)
	}
	again, _ := e.svc.Add(ctx, "c1", booking("s1", "APP_DATE", "01/06/2026", "APP_START_TIME", "10:00"))
	if fmt.Sprint(again) != fmt.Sprint(rec) {
		t.Errorf("retried call answered %v, first %v", again, rec)
	}
	other, _ := e.svc.Add(ctx, "c1", booking("s1", "USER_TID", "TT-2"))
	if other["ADD_RESULT"] != "ERROR" || other["ERROR_MESSAGE"] != msgTaken {
		t.Errorf("second patient: %v", other)
	}
	// same patient again, by Sincro's route: no AVAILABILITY_LID, resource + time; matched by USER_TID
	rec2, _ := e.svc.Add(ctx, "c1", booking("", "ACTIVITY_LID", "act-9", "RESOURCE_LID", "prac-2", "APP_DATE", "01/06/2026", "APP_START_TIME", "10:30"))
	if rec2["ADD_RESULT"] != "OK" || rec2["USER_LID"] != rec["USER_LID"] {
		t.Errorf("by time, known patient: %v (first %v)", rec2, rec)
	}
	// matched by ID number when the TID is new
	rec3, _ := e.svc.Add(ctx, "c1", booking("s4", "ACTIVITY_LID", "act-9", "USER_TID", "TT-NEW"))
	if rec3["USER_LID"] != rec["USER_LID"] {
		t.Errorf("by ID number: %v", rec3)
	}
	for _, c := range []struct {
		name string
		p    map[string]string
		msg  string
	}{
		{"unknown slot", booking("nope"), msgNoSlot},
		{"other center's slot", booking("s-other"), msgNoSlot},
		{"date mismatch", booking("s3", "APP_DATE", "02/06/2026"), msgMismatch},
		{"activity not offered", booking("s3", "ACTIVITY_LID", "act-2"), msgActivity},
		{"no slot at that time", booking("", "RESOURCE_LID", "prac-1", "APP_DATE", "01/06/2026", "APP_START_TIME", "11:11"), msgNoSlot},
	} {
		r, err := e.svc.Add(ctx, "c1", c.p)
		if err != nil || r["ADD_RESULT"] != "ERROR" || r["ERROR_MESSAGE"] != c.msg {
			t.Errorf("%s: %v %v", c.name, r, err)
		}
		if strings.Contains(fmt.Sprint(r), "Secret") {
			t.Errorf("%s: patient data in %v", c.name, r)
		}
	}
	// stored: Slot busy, Appointment booked with its participants, Patient
	body, _, _ := e.st.GetResource(ctx, "Slot", "s1")
	if !strings.Contains(string(body), `"busy"`) {
		t.Errorf("slot: %s", body)
	}
	body, _, _ = e.st.GetResource(ctx, "Appointment", rec["APP_LID"])
	for _, want := range []string{`"booked"`, `"Slot/s1"`, `"Patient/` + rec["USER_LID"] + `"`, `"Practitioner/prac-1"`, `"Location/loc-1"`, `"HealthcareService/act-1"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("appointment lacks %s: %s", want, body)
		}
	}
	body, _, _ = e.st.GetResource(ctx, "Patient", rec["USER_LID"])
	if !strings.Contains(string(body), "TT-1") || !strings.Contains(string(body), "urn:oid:dni") {
		t.Errorf("patient: %s", body)
	}
	// the appointment queries
	recs, err := call(t, e, "checkAppointment", map[string]string{"APP_LID": rec["APP_LID"]})
	if err != nil || recs[0]["STATUS"] != "Confirmed" || recs[0]["APP_START_TIME"] != "10:00" || recs[0]["USER_TID"] != "TT-1" || recs[0]["USER_MOBILE_PHONE"] != "600000001" {
		t.Errorf("check: %v %v", recs, err)
	}
	if strings.Contains(fmt.Sprint(recs), "Ana") || strings.Contains(fmt.Sprint(recs), "Secret") {
		t.Errorf("patient name in %v", recs)
	}
	recs, _ = call(t, e, "getAppointments", map[string]string{"USER_TID": "TT-1"})
	if len(recs) != 3 {
		t.Errorf("getAppointments by TID: %v", recs)
	}
	recs, _ = call(t, e, "SearchAppointments", map[string]string{"USER_LID": rec["USER_LID"], "START_DATE": "02/06/2026"})
	if ids(recs, "APP_LID") != rec3["APP_LID"] {
		t.Errorf("SearchAppointments from 2 June: %v", recs)
	}
	recs, _ = call(t, e, "getAppointments", map[string]string{"USER_LID": rec["USER_LID"], "LAST_REQUEST_TIMESTAMP": "2026-06-01 09:00:01"})
	if len(recs) != 0 {
		t.Errorf("nothing changed since: %v", recs)
	}
	// cancel (A.4.2: patient must match), slot free again, idempotent
	recs, _ = call(t, e, "CancelAppointment", map[string]string{"APP_LID": rec["APP_LID"], "USER_LID": "someone-else"})
	if recs[0]["RESULT"] != "ERROR" {
		t.Errorf("cancel by another patient: %v", recs)
	}
	recs, _ = call(t, e, "deleteAppointment", map[string]string{"APP_LID": rec["APP_LID"]})
	if recs[0]["DELETE_RESULT"] != "OK" {
		t.Errorf("delete: %v", recs)
	}
	recs, _ = call(t, e, "checkAppointment", map[string]string{"APP_LID": rec["APP_LID"]})
	if recs[0]["STATUS"] != "Cancelled" {
		t.Errorf("after delete: %v", recs)
	}
	recs, _ = call(t, e, "searchAvailabilities", map[string]string{"AVA_RESULTS_NUMBER": "1"})
	if ids(recs, "AVAILABILITY_LID") != "s1" {
		t.Errorf("freed slot not offered: %v", recs)
	}
	if _, err := call(t, e, "checkAppointment", map[string]string{"APP_LID": "nope"}); ws.KindOf(err) != ws.NotFound {
		t.Errorf("unknown appointment: %v", err)
	}
}

func TestMove(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	ctx := context.Background()
	rec, _ := e.svc.Add(ctx, "c1", booking("s1"))
	moved, err := e.svc.Move(ctx, "c1", rec["APP_LID"], map[string]string{"AVAILABILITY_LID": "s3"})
	if err != nil || moved["ADD_RESULT"] != "OK" || moved["APP_LID"] != rec["APP_LID"] {
		t.Fatalf("move: %v %v", moved, err)
	}
	b1, _, _ := e.st.GetResource(ctx, "Slot", "s1")
	b3, _, _ := e.st.GetResource(ctx, "Slot", "s3")
	ba, _, _ := e.st.GetResource(ctx, "Appointment", rec["APP_LID"])
	if !strings.Contains(string(b1), `"free"`) || !strings.Contains(string(b3), `"busy"`) || !strings.Contains(string(ba), "Slot/s3") || !strings.Contains(string(ba), "14:00:00Z") {
		t.Errorf("after move: %s %s %s", b1, b3, ba)
	}
	if r, _ := e.svc.Move(ctx, "c1", rec["APP_LID"], map[string]string{"AVAILABILITY_LID": "s-busy"}); r["ADD_RESULT"] != "ERROR" {
		t.Errorf("move to a busy slot: %v", r)
	}
}

// TestRebookAfterCancel: the kept answer of a booking holds only while the
// booking does: once cancelled, the same patient booking the freed slot
// again gets a new Appointment, not the cancelled one.
func TestRebookAfterCancel(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	ctx := context.Background()
	first, err := e.svc.Add(ctx, "c1", booking("s1"))
	if err != nil || first["ADD_RESULT"] != "OK" {
		t.Fatalf("add: %v %v", first, err)
	}
	if r, err := e.svc.Cancel(ctx, "c1", first["APP_LID"], true); err != nil || r["DELETE_RESULT"] != "OK" {
		t.Fatalf("cancel: %v %v", r, err)
	}
	again, err := e.svc.Add(ctx, "c1", booking("s1"))
	if err != nil || again["ADD_RESULT"] != "OK" || again["APP_LID"] == first["APP_LID"] || again["USER_LID"] != first["USER_LID"] {
		t.Fatalf("booking the freed slot again = %v %v, want a new appointment for the same patient (first %v)", again, err, first)
	}
	if retried, _ := e.svc.Add(ctx, "c1", booking("s1")); retried["APP_LID"] != again["APP_LID"] {
		t.Errorf("a retry of the new booking answered %v, want %v", retried, again)
	}
}

// race books one slot from 50 callers at once: exactly one wins.
func race(t *testing.T, url string) {
	e := newEnv(t, url, nil)
	e.seed(t)
	var ok, failed atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := booking("s2", "ACTIVITY_LID", "act-9", "USER_TID", fmt.Sprintf("TT-%d", i), "USER_ID_NUMBER", fmt.Sprintf("ID-%d", i))
			rec, err := e.svc.Add(context.Background(), "c1", p)
			switch {
			case err != nil:
				t.Errorf("caller %d: %v", i, err)
			case rec["ADD_RESULT"] == "OK":
				ok.Add(1)
			default:
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	var apps int
	if err := e.st.DB().QueryRow(`SELECT COUNT(*) FROM booking_appointments`).Scan(&apps); err != nil {
		t.Fatal(err)
	}
	body, _, _ := e.st.GetResource(context.Background(), "Slot", "s2")
	if ok.Load() != 1 || failed.Load() != 49 || apps != 1 || !strings.Contains(string(body), `"busy"`) {
		t.Errorf("ok %d, error %d, appointments %d, slot %s", ok.Load(), failed.Load(), apps, body)
	}
}

func TestRaceSQLite(t *testing.T) { race(t, sqliteURL(t)) }

func TestRacePostgres(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	url := pgtest.CreateDatabase(t, pgtest.Start(t), "booking_race")
	race(t, url)
}

func TestWriteBack(t *testing.T) {
	var got []map[string]any
	var mu sync.Mutex
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/fhir" || r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(400)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	e := newEnv(t, sqliteURL(t), nil)
	e.seed(t)
	ctx := context.Background()
	rec, _ := e.svc.Add(ctx, "c1", booking("s1"))
	flows, err := e.svc.Flows(&ehr.Endpoint{BaseURL: srv.URL + "/fhir", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := e.st.DB().Query(`SELECT resource_type, data FROM delivery_jobs WHERE flow = ?`, Flow)
	if err != nil {
		t.Fatal(err)
	}
	var jobs []delivery.Work
	for rows.Next() {
		var w delivery.Work
		if err := rows.Scan(&w.Kind, &w.Data); err != nil {
			t.Fatal(err)
		}
		w.Store = e.st
		jobs = append(jobs, w)
	}
	rows.Close()
	if len(jobs) != 1 || jobs[0].Kind != "book" {
		t.Fatalf("jobs: %v", jobs)
	}
	if err := flows[Flow].Work(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got[0])
	s := string(b)
	for _, want := range []string{`"type":"transaction"`, `"method":"POST","url":"Patient"`, `"ifNoneExist":"identifier=urn:fhirbridge:tuotempo:user-tid|TT-1"`,
		`"url":"Appointment/` + rec["APP_LID"] + `"`, `"url":"Slot/s1"`, `"reference":"urn:uuid:`} {
		if !strings.Contains(s, want) {
			t.Errorf("bundle lacks %s: %s", want, s)
		}
	}
	status = http.StatusServiceUnavailable
	if err := flows[Flow].Work(ctx, jobs[0]); err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "TT-1") {
		t.Errorf("503: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no centers", Config{}, Section + ".centers: at least one"},
		{"duplicate lid", Config{Centers: []ws.Center{{LID: "a", Name: "A"}, {LID: "a", Name: "B"}}}, Section + ".centers[1].lid"},
		{"bad zone", Config{Centers: []ws.Center{{LID: "a", Name: "A", TimeZone: "Mars/Base"}}}, Section + ".centers[0].timezone"},
		{"bad pattern", Config{Centers: []ws.Center{{LID: "a", Name: "A"}}, UserPattern: "x"}, Section + ".user_pattern"},
		{"bad source", Config{Centers: []ws.Center{{LID: "a", Name: "A"}}, Slots: Slots{Source: "x"}}, Section + ".slots.source"},
		{"ok", Config{Centers: []ws.Center{{LID: "a", Name: "A"}}}, ""},
	} {
		c.cfg.FillDefaults()
		err := c.cfg.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
