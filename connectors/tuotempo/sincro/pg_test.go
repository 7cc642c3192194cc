package sincro

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// testViews are the views of the tests: the two shipped mappings, test
// mappings standing in for three unshipped ones (one with each, one with
// the future-only filter), and one mapping that does not exist.
var testViews = func() []View {
	byName := map[string]View{}
	for _, v := range Views {
		byName[v.Name] = v
	}
	out := []View{byName["TT_RESOURCES"], byName["TT_RESERVATIONS"]}
	for name, file := range map[string]string{
		"TT_INSURANCES":            "testdata/insurances.yaml",
		"TT_INSURANCES_ACTIVITIES": "testdata/insurances-activities.yaml",
		"TT_AVAILABILITIES":        "testdata/availabilities.yaml",
		"TT_ACTIVITIES":            "tuotempo/no-such-mapping",
	} {
		v := byName[name]
		v.Mapping = file
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b View) int { return strings.Compare(a.Name, b.Name) })
	return out
}()

// pgEnv is a throwaway PostgreSQL with a fresh database per test.
type pgEnv struct {
	base  string // postgres://postgres@127.0.0.1:PORT
	admin *sql.DB
	n     int
}

// startPG starts a cluster whose pg_hba.conf checks passwords.
func startPG(t *testing.T) *pgEnv {
	t.Helper()
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	base := pgtest.Start(t)
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	// Passwords count for every user but postgres (pgtest trusts all).
	var hba string
	if err := admin.QueryRow("SHOW hba_file").Scan(&hba); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(fmt.Sprintf(`COPY (SELECT * FROM (VALUES ('local all all trust'),
		('host all postgres 127.0.0.1/32 trust'), ('host all all 127.0.0.1/32 scram-sha-256')) v) TO %s`, quoteLiteral(hba))); err != nil {
		t.Fatalf("writing pg_hba.conf: %v", err)
	}
	if _, err := admin.Exec("SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	return &pgEnv{base: base, admin: admin}
}

// open creates a database and opens a store on it.
func (e *pgEnv) open(t *testing.T) (url string, st *store.Store) {
	t.Helper()
	e.n++
	name := fmt.Sprintf("sincro_%d", e.n)
	if _, err := e.admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	url = e.base + "/" + name
	return url, e.store(t, url)
}

func (e *pgEnv) store(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func testConfig() *Config {
	c := &Config{Center: "C1", Poll: connectors.Duration(100 * time.Millisecond)}
	c.FillDefaults()
	return c
}

// put stores res and routes it through router, as the ingest does.
func put(t testing.TB, st *store.Store, router *delivery.Router, js string) {
	t.Helper()
	v, err := fhir.DecodeString(js, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = st.InTx(ctx, func(tx *store.Tx) error {
		typ, id := v.ResourceType(), v.GetString("id")
		ver, _, err := tx.PutValue(ctx, typ, id, v)
		if err != nil {
			return err
		}
		return router.Route(ctx, tx, typ, id, ver, v)
	})
	if err != nil {
		t.Fatalf("storing %s: %v", js[:min(len(js), 60)], err)
	}
}

// viewRows reads a published view as "COL=val|COL=val" lines, sorted.
func viewRows(t *testing.T, db *sql.DB, schema, view string, cols ...string) []string {
	t.Helper()
	var sel []string
	for _, c := range cols {
		sel = append(sel, "COALESCE("+quoteIdent(c)+"::text, '')")
	}
	rows, err := db.Query("SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(schema) + "." + quoteIdent(view))
	if err != nil {
		t.Fatalf("reading %s: %v", view, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, c := range cols {
			parts = append(parts, c+"="+vals[i])
		}
		out = append(out, strings.Join(parts, "|"))
	}
	slices.Sort(out)
	return out
}

func day(d int) time.Time {
	loc, _ := time.LoadLocation("Europe/Madrid")
	n := time.Now().In(loc)
	return time.Date(n.Year(), n.Month(), n.Day()+d, 10, 0, 0, 0, loc)
}

func appointment(id string, start time.Time) string {
	return fmt.Sprintf(`{"resourceType":"Appointment","id":%q,"status":"booked","start":%q,"end":%q,
		"participant":[{"actor":{"reference":"Patient/u1"}},{"actor":{"reference":"Practitioner/p1"}}]}`,
		id, start.Format(time.RFC3339), start.Add(30*time.Minute).Format(time.RFC3339))
}

func slot(id string, start time.Time) string {
	return fmt.Sprintf(`{"resourceType":"Slot","id":%q,"status":"free","schedule":{"reference":"Schedule/s1"},"start":%q,"end":%q}`,
		id, start.Format(time.RFC3339), start.Add(30*time.Minute).Format(time.RFC3339))
}

// TestPostgres runs the PostgreSQL tests on one cluster.
func TestPostgres(t *testing.T) {
	e := startPG(t)
	t.Run("Views", func(t *testing.T) { testViewsPG(t, e) })
	t.Run("Role", func(t *testing.T) { testRole(t, e) })
	t.Run("Consume", func(t *testing.T) { testConsume(t, e) })
	t.Run("Listen", func(t *testing.T) { testListen(t, e) })
	t.Run("Command", func(t *testing.T) { testCommand(t, e) })
}

// testListen: with a poll interval of an hour, an inserted row is taken
// at once: the trigger notifies the listening bridge.
func testListen(t *testing.T, e *pgEnv) {
	url, st := e.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := testConfig()
	cfg.Poll = connectors.Duration(time.Hour)
	booker := &fakeBooker{}
	s, err := newWith(ctx, cfg, st, booker, nil, testViews, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Grant(ctx, "", "pw-123", io_discard{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	db := st.DB()
	waitFor(t, "the bridge to LISTEN", func() bool {
		var n int
		db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`).Scan(&n)
		return n == 1
	})
	role, _ := sql.Open("pgx", strings.Replace(url, "postgres://postgres@", "postgres://tuotempo_sincro:pw-123@", 1))
	defer role.Close()
	if _, err := role.Exec(`INSERT INTO tuotempo."TT_DELETE_RESERVATION" ("APP_LID") VALUES ('A1')`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the row to be taken", func() bool {
		var st sql.NullString
		db.QueryRow(`SELECT "STATUS_TRIGGER" FROM tuotempo_sincro_data.delete_reservation`).Scan(&st)
		return st.String == "OK"
	})
	cancel()
	<-done
	// The listening connection went with Run: none is left listening.
	waitFor(t, "the listener to close", func() bool {
		var n int
		db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'`).Scan(&n)
		return n == 0
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// testViewsPG: resources put through a router with the observer show in
// the views as their mappings give them; the 7-day and future-only
// filters hold; a PractitionerRole stored later updates its
// practitioner's row; a full refresh gives the same rows.
func testViewsPG(t *testing.T, e *pgEnv) {
	ctx := context.Background()
	_, st := e.open(t)
	var logs bytes.Buffer
	s, err := newWith(ctx, testConfig(), st, nil, slog.New(slog.NewTextHandler(&logs, nil)), testViews, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Published(), []string{"TT_AVAILABILITIES", "TT_INSURANCES", "TT_INSURANCES_ACTIVITIES", "TT_RESERVATIONS", "TT_RESOURCES"}; !slices.Equal(got, want) {
		t.Errorf("published %v, want %v", got, want)
	}
	if !strings.Contains(logs.String(), "view=TT_ACTIVITIES") || !strings.Contains(logs.String(), "not shipped") {
		t.Errorf("no log line for the unshipped view:\n%s", logs.String())
	}
	router := &delivery.Router{}
	router.Observe(s.Observer())
	for _, js := range []string{
		`{"resourceType":"Location","id":"l1","name":"Centro"}`,
		`{"resourceType":"Practitioner","id":"p1","name":[{"family":"Ruiz","given":["Ana","María"]}]}`,
		`{"resourceType":"Practitioner","id":"p2","active":false,"name":[{"family":"Gone"}]}`,
		`{"resourceType":"PractitionerRole","id":"r1","practitioner":{"reference":"Practitioner/p1"},"location":[{"reference":"Location/l1"}]}`,
		`{"resourceType":"Schedule","id":"s1","actor":[{"reference":"Practitioner/p1"}]}`,
		appointment("a-recent", day(-3)), appointment("a-old", day(-10)), appointment("a-next", day(2)),
		slot("s-past", day(-1)), slot("s-today", day(0)), slot("s-next", day(5)),
		`{"resourceType":"InsurancePlan","id":"i1","name":"Sanitas","extension":[
			{"url":"urn:fhirbridge:tuotempo:activity","extension":[{"url":"activity","valueReference":{"reference":"HealthcareService/a1"}},{"url":"price","valueMoney":{"value":25.5}}]},
			{"url":"urn:fhirbridge:tuotempo:activity","extension":[{"url":"activity","valueReference":{"reference":"HealthcareService/a2"}}]}]}`,
	} {
		put(t, st, router, js)
	}
	db := st.DB()
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			view string
			cols []string
			want []string
		}{
			{"TT_RESOURCES", []string{"RESOURCE_LID", "RESOURCE_FIRST_NAME", "RESOURCE_SECOND_NAME", "LOCATION_LID", "LOCATION_NAME", "WEB_ENABLED"},
				[]string{"RESOURCE_LID=p1|RESOURCE_FIRST_NAME=Ana María|RESOURCE_SECOND_NAME=Ruiz|LOCATION_LID=l1|LOCATION_NAME=Centro|WEB_ENABLED=1"}},
			{"TT_RESERVATIONS", []string{"APP_LID", "APP_DATE", "APP_START_TIME", "RESOURCE_LID", "STATUS", "USER_FIRST_NAME"},
				[]string{
					"APP_LID=a-next|APP_DATE=" + day(2).Format("02/01/2006") + "|APP_START_TIME=10:00|RESOURCE_LID=p1|STATUS=APPROVED|USER_FIRST_NAME=",
					"APP_LID=a-recent|APP_DATE=" + day(-3).Format("02/01/2006") + "|APP_START_TIME=10:00|RESOURCE_LID=p1|STATUS=APPROVED|USER_FIRST_NAME=",
				}},
			{"TT_AVAILABILITIES", []string{"AVAILABILITY_LID", "R_START_TIME", "R_END_DAY", "RESOURCE_LID"},
				[]string{
					"AVAILABILITY_LID=s-next|R_START_TIME=10:00|R_END_DAY=" + day(5).Format("02/01/2006") + "|RESOURCE_LID=p1",
					"AVAILABILITY_LID=s-today|R_START_TIME=10:00|R_END_DAY=" + day(0).Format("02/01/2006") + "|RESOURCE_LID=p1",
				}},
			{"TT_INSURANCES", []string{"INSURANCE_LID", "INSURANCE_NAME", "WEB_ENABLED"}, []string{"INSURANCE_LID=i1|INSURANCE_NAME=Sanitas|WEB_ENABLED=1"}},
			{"TT_INSURANCES_ACTIVITIES", []string{"INSURANCE_LID", "ACTIVITY_LID", "ACTIVITY_PRICE"},
				[]string{"INSURANCE_LID=i1|ACTIVITY_LID=a1|ACTIVITY_PRICE=25.5", "INSURANCE_LID=i1|ACTIVITY_LID=a2|ACTIVITY_PRICE="}},
		} {
			if got := viewRows(t, db, "tuotempo", c.view, c.cols...); !slices.Equal(got, c.want) {
				t.Errorf("%s: %s =\n  %s\nwant\n  %s", when, c.view, strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		}
	}
	check("after ingest")
	// The view's types are the guide's.
	var typ string
	if err := db.QueryRow(`SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'tuotempo."TT_RESERVATIONS"'::regclass AND attname = 'NOTES'`).Scan(&typ); err != nil || typ != "character varying(500)" {
		t.Errorf("NOTES type = %q (%v), want character varying(500)", typ, err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	check("after refresh")
	// A changed resource replaces its rows; a relation loses an item.
	put(t, st, router, `{"resourceType":"InsurancePlan","id":"i1","name":"Sanitas","extension":[
			{"url":"urn:fhirbridge:tuotempo:activity","extension":[{"url":"activity","valueReference":{"reference":"HealthcareService/a2"}}]}]}`)
	if got := viewRows(t, db, "tuotempo", "TT_INSURANCES_ACTIVITIES", "ACTIVITY_LID"); !slices.Equal(got, []string{"ACTIVITY_LID=a2"}) {
		t.Errorf("after update: %v", got)
	}
	// A resource its view cannot show is left out, logged without data;
	// its ingest succeeds.
	long := strings.Repeat("x", 60)
	put(t, st, router, `{"resourceType":"InsurancePlan","id":"`+long+`","name":"Private Name"}`)
	if got := viewRows(t, db, "tuotempo", "TT_INSURANCES", "INSURANCE_LID"); !slices.Equal(got, []string{"INSURANCE_LID=i1"}) {
		t.Errorf("TT_INSURANCES after a refused resource: %v", got)
	}
	if l := logs.String(); !strings.Contains(l, "column INSURANCE_LID: longer than 50") || strings.Contains(l, "Private Name") {
		t.Errorf("log of the refused resource:\n%s", l)
	}
	// A second New (a restart, another replica) keeps the objects.
	if _, err := newWith(ctx, testConfig(), st, nil, nil, testViews, ""); err != nil {
		t.Fatalf("second New: %v", err)
	}
}

// pgCode is the SQLSTATE of err, "" for none.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// testRole: the granted role, logging in with its password, reads the
// views and inserts into the two tables, and is refused everything else.
func testRole(t *testing.T, e *pgEnv) {
	ctx := context.Background()
	url, st := e.open(t)
	s, err := newWith(ctx, testConfig(), st, nil, nil, testViews, "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	const pw = "s3cret-Pw"
	if err := s.Grant(ctx, "", pw, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), pw) || !strings.Contains(out.String(), `GRANT SELECT ON "tuotempo"."TT_RESOURCES"`) {
		t.Errorf("grant printed:\n%s", out.String())
	}
	// Idempotent, and a second run keeps the password when none is given.
	if err := s.Grant(ctx, "", "", &bytes.Buffer{}); err != nil {
		t.Fatalf("second grant: %v", err)
	}
	roleURL := strings.Replace(url, "postgres://postgres@", "postgres://tuotempo_sincro:"+pw+"@", 1)
	bad, _ := sql.Open("pgx", strings.Replace(roleURL, pw, "wrong", 1))
	defer bad.Close()
	if err := bad.Ping(); pgCode(err) != "28P01" {
		t.Errorf("wrong password: %v, want 28P01", err)
	}
	role, err := sql.Open("pgx", roleURL)
	if err != nil {
		t.Fatal(err)
	}
	defer role.Close()
	for _, v := range s.Published() {
		if _, err := role.Exec(`SELECT * FROM tuotempo.` + quoteIdent(v)); err != nil {
			t.Errorf("role SELECT %s: %v", v, err)
		}
	}
	for _, q := range []string{
		`INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_TMP_ID", "APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID") VALUES ('1', 't1', 'add', '01/01/2030', '10:00', 'p1')`,
		`INSERT INTO tuotempo."TT_DELETE_RESERVATION" ("APP_TMP_ID", "APP_LID") VALUES ('1', 'x')`,
	} {
		if _, err := role.Exec(q); err != nil {
			t.Errorf("role %s: %v", q[:40], err)
		}
	}
	checkTmpObjects(t, st.DB())
	// A view whose columns change is replaced, and the role keeps it.
	changed := slices.Clone(testViews)
	for i, v := range changed {
		if v.Name == "TT_INSURANCES" {
			changed[i].Columns = v.Columns[:2]
		}
	}
	if _, err := newWith(ctx, testConfig(), st, nil, nil, changed, ""); err != nil {
		t.Fatalf("New with a changed view: %v", err)
	}
	if _, err := role.Exec(`SELECT "WEB_ENABLED" FROM tuotempo."TT_INSURANCES"`); pgCode(err) != "42703" {
		t.Errorf("replaced view still has the dropped column: %v", err)
	}
	if _, err := role.Exec(`SELECT "INSURANCE_NAME" FROM tuotempo."TT_INSURANCES"`); err != nil {
		t.Errorf("role lost the replaced view: %v", err)
	}
	// The private state columns are not in the views.
	for _, q := range []string{
		`SELECT bridge_done FROM tuotempo."TT_RESERVATIONS_TMP"`,
		`INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID", bridge_done) VALUES ('t', 'add', 'd', 't', 'p', now())`,
	} {
		if _, err := role.Exec(q); pgCode(err) != "42703" {
			t.Errorf("role %s: %v, want SQLSTATE 42703", q, err)
		}
	}
	for _, q := range []string{
		`SELECT * FROM tuotempo_sincro_data.rows`,
		`SELECT * FROM tuotempo_sincro_data.reservations_tmp`,
		`SELECT * FROM tuotempo_sincro_data.delete_reservation`,
		`INSERT INTO tuotempo_sincro_data.reservations_tmp ("APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID") VALUES ('t', 'add', 'd', 't', 'p')`,
		`INSERT INTO tuotempo_sincro_data.delete_reservation ("APP_LID") VALUES ('x')`,
		`UPDATE tuotempo_sincro_data.reservations_tmp SET bridge_done = now()`,
		`DELETE FROM tuotempo_sincro_data.delete_reservation`,
		`SELECT tuotempo_sincro_data.notify()`,
		`SELECT * FROM tuotempo."TT_RESERVATIONS_TMP"`,
		`SELECT * FROM tuotempo."TT_DELETE_RESERVATION"`,
		`SELECT "STATUS_TRIGGER" FROM tuotempo."TT_DELETE_RESERVATION"`,
		`INSERT INTO tuotempo."TT_DELETE_RESERVATION" ("APP_LID", "STATUS_TRIGGER") VALUES ('x', 'OK')`,
		`INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID", "STATUS_TRIGGER") VALUES ('t', 'add', 'd', 't', 'p', 'OK')`,
		`UPDATE tuotempo."TT_RESERVATIONS_TMP" SET "APP_LID" = 'x'`,
		`UPDATE tuotempo."TT_DELETE_RESERVATION" SET "APP_LID" = 'x'`,
		`DELETE FROM tuotempo."TT_RESERVATIONS_TMP"`,
		`DELETE FROM tuotempo."TT_DELETE_RESERVATION"`,
		`CREATE TABLE tuotempo.mine (x int)`,
		`CREATE VIEW tuotempo.mine AS SELECT 1`,
		`SELECT * FROM resources`,
		`SELECT * FROM resource_versions`,
		`INSERT INTO tuotempo_sincro_data.rows VALUES ('TT_RESOURCES', 'x', 'y', 0, '{}', NULL)`,
	} {
		if _, err := role.Exec(q); pgCode(err) != "42501" {
			t.Errorf("role %s: %v, want SQLSTATE 42501", q, err)
		}
	}
}

// fakeBooker records the calls and answers like the real one would.
type fakeBooker struct {
	mu       sync.Mutex
	calls    []string
	failOnce map[string]bool // APP_TID → answer ws.Unavailable once
}

func (b *fakeBooker) record(c string) {
	time.Sleep(5 * time.Millisecond) // widen the window two consumers race in
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()
}

func (b *fakeBooker) Add(_ context.Context, center string, p map[string]string) (ws.Record, error) {
	b.mu.Lock()
	fail := b.failOnce[p["APP_TID"]]
	delete(b.failOnce, p["APP_TID"])
	b.mu.Unlock()
	if fail {
		return nil, ws.Errorf(ws.Unavailable, "", "store busy")
	}
	keys := slices.Sorted(maps.Keys(p))
	b.record("add " + center + " " + p["APP_TID"] + " " + strings.Join(keys, ","))
	if p["RESOURCE_LID"] == "busy" {
		return ws.Record{"ADD_RESULT": "ERROR", "ERROR_MESSAGE": "slot not free"}, nil
	}
	return ws.Record{"ADD_RESULT": "OK", "APP_LID": "APP-" + p["APP_TID"], "USER_LID": "u1"}, nil
}

func (b *fakeBooker) Move(_ context.Context, center, appLID string, p map[string]string) (ws.Record, error) {
	b.record("move " + center + " " + appLID + " " + p["APP_DATE"])
	return ws.Record{"ADD_RESULT": "OK", "APP_LID": appLID}, nil
}

func (b *fakeBooker) Cancel(_ context.Context, center, appLID string, byPatient bool) (ws.Record, error) {
	b.record(fmt.Sprintf("cancel %s %s %v", center, appLID, byPatient))
	if appLID == "missing" {
		return nil, ws.Errorf(ws.NotFound, "APP_LID", "no such appointment")
	}
	return ws.Record{"DELETE_RESULT": "OK"}, nil
}

// testConsume: rows the role inserts reach the booker exactly once with
// two consumers (two stores, as two replicas) running, and their outcome
// is written back; a row the booker could not answer is retried.
func testConsume(t *testing.T, e *pgEnv) {
	url, st := e.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	booker := &fakeBooker{failOnce: map[string]bool{"t-retry": true}}
	s1, err := newWith(ctx, testConfig(), st, booker, nil, testViews, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Grant(ctx, "", "pw-123", io_discard{}); err != nil {
		t.Fatal(err)
	}
	st2 := e.store(t, url)
	s2, err := newWith(ctx, testConfig(), st2, booker, nil, testViews, "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, s := range []*Sincro{s1, s2} {
		wg.Add(1)
		go func() { defer wg.Done(); s.Run(ctx) }()
	}
	role, err := sql.Open("pgx", strings.Replace(url, "postgres://postgres@", "postgres://tuotempo_sincro:pw-123@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer role.Close()
	const n = 20
	want := map[string]int{}
	ins := func(q string, args ...any) {
		t.Helper()
		if _, err := role.Exec(q, args...); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	const addQ = `INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID", "USER_TID", "APP_CUSTOM_0") VALUES ($1, $2, '01/02/2030', '10:00', $3, 'ut', 'c')`
	for i := range n {
		tid := fmt.Sprintf("t%02d", i)
		ins(addQ, tid, "ADD ", "p1")
		want["add C1 "+tid+" APP_DATE,APP_START_TIME,APP_TID,RESOURCE_LID,USER_TID"]++
	}
	ins(addQ, "t-retry", "add", "p1")
	want["add C1 t-retry APP_DATE,APP_START_TIME,APP_TID,RESOURCE_LID,USER_TID"]++
	ins(addQ, "t-busy", "add", "busy")
	want["add C1 t-busy APP_DATE,APP_START_TIME,APP_TID,RESOURCE_LID,USER_TID"]++
	ins(addQ, "t-bad", "frobnicate", "p1")
	ins(`INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_LID", "APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID") VALUES ('A9', 't-up', 'update', '03/02/2030', '11:00', 'p1')`)
	want["move C1 A9 03/02/2030"]++
	ins(`INSERT INTO tuotempo."TT_RESERVATIONS_TMP" ("APP_LID", "APP_TID", "APP_ACTION", "APP_DATE", "APP_START_TIME", "RESOURCE_LID") VALUES ('A8', 't-del', 'delete', '03/02/2030', '11:00', 'p1')`)
	want["cancel C1 A8 true"]++
	ins(`INSERT INTO tuotempo."TT_DELETE_RESERVATION" ("APP_LID", "USER_MOBILE_PHONE") VALUES ('A7', '600000000')`)
	want["cancel C1 A7 true"]++
	ins(`INSERT INTO tuotempo."TT_DELETE_RESERVATION" ("APP_LID") VALUES ('missing')`)
	want["cancel C1 missing true"]++

	db := st.DB()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pending int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM tuotempo_sincro_data.reservations_tmp WHERE bridge_done IS NULL) +
			(SELECT count(*) FROM tuotempo_sincro_data.delete_reservation WHERE bridge_done IS NULL)`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows still pending", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	got := map[string]int{}
	for _, c := range booker.calls {
		got[c]++
	}
	if !maps.Equal(got, want) {
		t.Errorf("booker calls:\n%v\nwant\n%v", got, want)
	}
	status := map[string]string{}
	rows, err := db.Query(`SELECT "APP_TID", COALESCE("APP_LID", ''), "STATUS_TRIGGER", bridge_tries FROM tuotempo_sincro_data.reservations_tmp`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tid, lid, st string
		var tries int
		if err := rows.Scan(&tid, &lid, &st, &tries); err != nil {
			t.Fatal(err)
		}
		status[tid] = fmt.Sprintf("%s %s %d", lid, st, tries)
	}
	rows.Close()
	for tid, w := range map[string]string{
		"t00": "APP-t00 OK 0", "t-retry": "APP-t-retry OK 1", "t-busy": " ERROR: slot not free 0",
		"t-bad": " ERROR: APP_ACTION must be add, update or delete 0", "t-up": "A9 OK 0", "t-del": "A8 OK 0",
	} {
		if status[tid] != w {
			t.Errorf("row %s: %q, want %q", tid, status[tid], w)
		}
	}
	var del []string
	rows, err = db.Query(`SELECT "APP_LID" || ' ' || "STATUS_TRIGGER" FROM tuotempo_sincro_data.delete_reservation ORDER BY bridge_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		del = append(del, s)
	}
	rows.Close()
	if w := []string{"A7 OK", "missing ERROR: APP_LID: no such appointment"}; !slices.Equal(del, w) {
		t.Errorf("TT_DELETE_RESERVATION = %q, want %q", del, w)
	}
}

type io_discard struct{}

func (io_discard) Write(p []byte) (int, error) { return len(p), nil }

// checkTmpObjects: the published temporary tables are views showing
// exactly the guide's columns in its order (tmpColumns); their storage
// tables, from the migration line, have those columns with the guide's
// types, NOT NULLs and defaults, then the bridge's three; the rows the
// role inserted got their defaults through the views.
func checkTmpObjects(t *testing.T, db *sql.DB) {
	t.Helper()
	cols := func(schema, table string) []string {
		rows, err := db.Query(`SELECT column_name, format_type(a.atttypid, a.atttypmod), a.attnotnull, COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
			FROM information_schema.columns c
			JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass AND a.attname = c.column_name
			LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
			WHERE c.table_schema = $1 AND c.table_name = $2 ORDER BY c.ordinal_position`, schema, table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name, typ, def string
			var notNull bool
			if err := rows.Scan(&name, &typ, &notNull, &def); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %s %v %s", name, typ, notNull, def))
		}
		return out
	}
	for _, tbl := range []string{ReservationsTmp, DeleteTable} {
		var kind string
		if err := db.QueryRow(`SELECT relkind::text FROM pg_class WHERE oid = $1::regclass`, `tuotempo."`+tbl+`"`).Scan(&kind); err != nil || kind != "v" {
			t.Errorf("%s: relkind %q (%v), want a view", tbl, kind, err)
		}
		var wantView, wantStore []string
		for _, c := range tmpColumns(tbl) {
			typ := "character varying(" + fmt.Sprint(c.Len) + ")"
			if c.Name == "INSERT_TIME" {
				typ = "timestamp without time zone"
			}
			wantView = append(wantView, fmt.Sprintf("%s %s false ", c.Name, typ))
			def := c.def
			switch def {
			case "''":
				def = "''::character varying"
			case "LOCALTIMESTAMP":
				def = "LOCALTIMESTAMP"
			}
			wantStore = append(wantStore, fmt.Sprintf("%s %s %v %s", c.Name, typ, c.notNull, def))
		}
		wantStore = append([]string{"bridge_id bigint true "}, wantStore...)
		wantStore = append(wantStore, "bridge_done timestamp with time zone false ", "bridge_tries integer true 0")
		if got := cols("tuotempo", tbl); !slices.Equal(got, wantView) {
			t.Errorf("view %s columns:\n  %s\nwant\n  %s", tbl, strings.Join(got, "\n  "), strings.Join(wantView, "\n  "))
		}
		if got := cols(privateSchema, storage(tbl)); !slices.Equal(got, wantStore) {
			t.Errorf("storage of %s columns:\n  %s\nwant\n  %s", tbl, strings.Join(got, "\n  "), strings.Join(wantStore, "\n  "))
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + privateSchema + `.` + storage(tbl) +
			` WHERE "APP_TMP_ID" = '1' AND "INSERT_TIME" > LOCALTIMESTAMP - interval '1 hour' AND bridge_done IS NULL AND bridge_tries = 0`).Scan(&n); err != nil || n != 1 {
			t.Errorf("storage of %s: %d rows inserted through the view with their defaults (%v), want 1", tbl, n, err)
		}
	}
}
