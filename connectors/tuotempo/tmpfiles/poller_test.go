package tmpfiles

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/localremote"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// call is one Booker call the fake saw.
type call struct {
	op, center, appLID string
	byPatient          bool
	params             map[string]string
}

// fakeBooker records calls and answers from fn (nil: OK).
type fakeBooker struct {
	mu    sync.Mutex
	calls []call
	fn    func(c call) (ws.Record, error)
}

func (b *fakeBooker) answer(c call, okKey string) (ws.Record, error) {
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()
	if b.fn != nil {
		return b.fn(c)
	}
	return ws.Record{okKey: "OK", "APP_LID": "appt-new"}, nil
}

func (b *fakeBooker) Add(_ context.Context, center string, p map[string]string) (ws.Record, error) {
	return b.answer(call{op: "add", center: center, params: p}, "ADD_RESULT")
}

func (b *fakeBooker) Move(_ context.Context, center, appLID string, p map[string]string) (ws.Record, error) {
	return b.answer(call{op: "move", center: center, appLID: appLID, params: p}, "ADD_RESULT")
}

func (b *fakeBooker) Cancel(_ context.Context, center, appLID string, byPatient bool) (ws.Record, error) {
	return b.answer(call{op: "cancel", center: center, appLID: appLID, byPatient: byPatient}, "DELETE_RESULT")
}

const tmpHeader = "APP_TMP_ID,APP_LID,APP_TID,APP_ACTION,APP_DATE,APP_START_TIME,APP_END_TIME,USER_LID,USER_TID,USER_FIRST_NAME,USER_MOBILE_PHONE,RESOURCE_LID,ACTIVITY_LID,INSURANCE_LID,STATUS_TRIGGER,INSERT_TIME\n"

// env is a folder remote, a store and a poller of one job over them.
type env struct {
	t      *testing.T
	dir    string
	st     *store.Store
	booker *fakeBooker
	p      *Poller
	now    time.Time
}

func newEnv(t *testing.T, table Table, folder Folder) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), booker: &fakeBooker{}, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	jobs, err := Jobs("connectors.tuotempo.x", table, []Folder{folder}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	e.p, err = New(jobs[0], st, e.booker, Options{Now: func() time.Time { return e.now }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// drop writes a file into the remote folder, old enough to be taken.
func (e *env) drop(name, content string) {
	e.t.Helper()
	p := filepath.Join(e.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	old := e.now.Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		e.t.Fatal(err)
	}
}

// poll polls twice (a file is taken when unchanged across two polls) and
// returns the files both polls took.
func (e *env) poll() Report {
	e.t.Helper()
	var rep Report
	var files []FileReport
	for range 2 {
		remote, err := connectors.OpenRemote(context.Background(), connectors.RemoteConfig{Kind: "local", Dir: e.dir})
		if err != nil {
			e.t.Fatal(err)
		}
		rep, err = e.p.Poll(context.Background(), remote)
		remote.Close()
		if err != nil {
			e.t.Fatal(err)
		}
		files = append(files, rep.Files...)
	}
	rep.Files = files
	return rep
}

func (e *env) exists(name string) bool {
	_, err := os.Stat(filepath.Join(e.dir, filepath.FromSlash(name)))
	return err == nil
}

func (e *env) ledger() []ledger.Entry {
	e.t.Helper()
	es, err := ledger.List(context.Background(), e.st, ledger.Filter{Direction: ledger.In})
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

// TestReservationsTmpApplied: add, update and delete rows reach the
// Booker as Add (the row's columns, no bookkeeping), Move and Cancel by
// the patient; the file moves to processed/ with its report and is
// recorded once.
func TestReservationsTmpApplied(t *testing.T) {
	e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp", Dir: "in", Center: "C1"})
	e.drop("in/TT_RESERVATIONS_TMP_1.csv", tmpHeader+
		"1,,TT-9,ADD,02/12/2026,09:30,09:50,,U-1,Ana,600000001,prac-1,act-1,,,2026-12-01 09:00:00\n"+
		"2,appt-7,TT-7,update,03/12/2026,10:00,,pat-7,,,,prac-1,,,,2026-12-01 09:00:01\n"+
		"3,appt-8,TT-8, Delete ,03/12/2026,11:00,,pat-8,,,,prac-1,,,,2026-12-01 09:00:02\n")
	rep := e.poll()
	if len(rep.Files) != 1 || rep.Files[0].Err != nil || rep.Files[0].Outcome != ledger.OutcomeOK || rep.Files[0].RowsOK != 3 {
		t.Fatalf("report %+v", rep)
	}
	want := []call{
		{op: "add", center: "C1", params: map[string]string{"APP_TID": "TT-9", "APP_DATE": "02/12/2026", "APP_START_TIME": "09:30",
			"APP_END_TIME": "09:50", "USER_TID": "U-1", "USER_FIRST_NAME": "Ana", "USER_MOBILE_PHONE": "600000001",
			"RESOURCE_LID": "prac-1", "ACTIVITY_LID": "act-1"}},
		{op: "move", center: "C1", appLID: "appt-7", params: map[string]string{"APP_TID": "TT-7", "APP_DATE": "03/12/2026",
			"APP_START_TIME": "10:00", "USER_LID": "pat-7", "RESOURCE_LID": "prac-1"}},
		{op: "cancel", center: "C1", appLID: "appt-8", byPatient: true},
	}
	if !reflect.DeepEqual(e.booker.calls, want) {
		t.Errorf("booker calls\n got %+v\nwant %+v", e.booker.calls, want)
	}
	if !e.exists("in/processed/TT_RESERVATIONS_TMP_1.csv") || !e.exists("in/processed/TT_RESERVATIONS_TMP_1.csv"+ReportSuffix) || e.exists("in/TT_RESERVATIONS_TMP_1.csv") {
		t.Error("file and report not in in/processed/")
	}
	es := e.ledger()
	if len(es) != 1 || es[0].Job != "tt-tmp" || es[0].Outcome != ledger.OutcomeOK || es[0].RowsOK != 3 || es[0].SHA256 == "" {
		t.Errorf("ledger %+v", es)
	}
}

// TestReprocessing: the same content under another name is a duplicate
// (error/, nothing applied); a file put back after it was applied (the
// bridge stopped before moving it) is only moved again.
func TestReprocessing(t *testing.T) {
	e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp"})
	content := tmpHeader + "1,appt-8,TT-8,delete,03/12/2026,11:00,,,,,,prac-1,,,,\n"
	e.drop("TT_RESERVATIONS_TMP_1.csv", content)
	e.poll()
	if len(e.booker.calls) != 1 {
		t.Fatalf("%d calls after the first file, want 1", len(e.booker.calls))
	}
	e.drop("TT_RESERVATIONS_TMP_2.csv", content)
	rep := e.poll()
	if len(rep.Files) != 1 || rep.Files[0].Outcome != ledger.OutcomeDuplicate || rep.Files[0].MovedTo != "error/TT_RESERVATIONS_TMP_2.csv" {
		t.Fatalf("duplicate report %+v", rep.Files)
	}
	// as if the bridge had stopped after recording but before moving
	if err := os.Rename(filepath.Join(e.dir, "processed", "TT_RESERVATIONS_TMP_1.csv"), filepath.Join(e.dir, "TT_RESERVATIONS_TMP_1.csv")); err != nil {
		t.Fatal(err)
	}
	e.drop("TT_RESERVATIONS_TMP_1.csv", content)
	rep = e.poll()
	if len(rep.Files) != 1 || !rep.Files[0].Recovered || rep.Files[0].Outcome != ledger.OutcomeOK || !strings.HasPrefix(rep.Files[0].MovedTo, "processed/TT_RESERVATIONS_TMP_1.") {
		t.Fatalf("recovered report %+v", rep.Files)
	}
	if len(e.booker.calls) != 1 {
		t.Errorf("%d booker calls, want 1: a file is applied once", len(e.booker.calls))
	}
	if es := e.ledger(); len(es) != 2 {
		t.Errorf("%d ledger entries, want 2 (the file, the duplicate)", len(es))
	}
}

// TestRefusedRows: rows the Booker refuses, and rows refused before it,
// are reported per line in the ledger without the row's values; the
// other rows apply and the file goes to error/.
func TestRefusedRows(t *testing.T) {
	e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp"})
	e.booker.fn = func(c call) (ws.Record, error) {
		switch {
		case c.op == "add" && c.params["USER_FIRST_NAME"] == "Zacarías":
			return ws.Record{"ADD_RESULT": "ERROR", "ERROR_MESSAGE": "no free slot for Zacarías at 09:30 with prac-1"}, nil
		case c.op == "move":
			return nil, ws.Errorf(ws.NotFound, "APP_LID", "no appointment appt-404")
		}
		return ws.Record{"ADD_RESULT": "OK"}, nil
	}
	e.drop("TT_RESERVATIONS_TMP_1.csv", tmpHeader+
		"1,,TT-1,add,02/12/2026,09:30,,,,Zacarías,600111222,prac-1,,,,\n"+
		"2,,TT-2,add,02/12/2026,10:30,,,,Ana,,prac-1,,,,\n"+
		"3,appt-404,TT-3,update,02/12/2026,10:30,,,,,,prac-1,,,,\n"+
		"4,,TT-4,add,,10:30,,,,,,prac-1,,,,\n"+
		"5,,TT-5,book,02/12/2026,10:30,,,,,,prac-1,,,,\n"+
		"6,,TT-6,add,02/12/2026,10:30:00,,,,,,prac-1,,,,\n"+
		"7,,TT-7,add\n")
	rep := e.poll()
	fr := rep.Files[0]
	if fr.Outcome != ledger.OutcomePartial || fr.RowsOK != 1 || fr.RowsFailed != 6 || fr.MovedTo != "error/TT_RESERVATIONS_TMP_1.csv" {
		t.Fatalf("report %+v", fr)
	}
	es := e.ledger()
	d := es[0].Detail
	for _, want := range []string{"line 2: add refused: no free slot for [value] at [value] with [value]", "line 4: update refused: APP_LID: no appointment [value]",
		"line 5: APP_DATE is empty", "line 6: APP_ACTION is not add, update or delete", "line 7: APP_START_TIME longer than 5 characters", "line 8:"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	for _, secret := range []string{"Zacarías", "600111222", "appt-404"} {
		if strings.Contains(d, secret) {
			t.Errorf("detail %q carries a row value", d)
		}
	}
	b, err := os.ReadFile(filepath.Join(e.dir, "error", "TT_RESERVATIONS_TMP_1.csv"+ReportSuffix))
	if err != nil || strings.Contains(string(b), "Zacarías") || !strings.Contains(string(b), "outcome: partial") {
		t.Errorf("report %q, %v", b, err)
	}
}

// TestFileRefused: a wrong header, an unknown column and an oversized
// file go to error/ unapplied, recorded as failed.
func TestFileRefused(t *testing.T) {
	cases := []struct{ name, content, detail string }{
		{"missing column", "APP_LID,APP_ACTION\nappt-1,delete\n", "column APP_TID is missing"},
		{"unknown column", strings.TrimSuffix(tmpHeader, "\n") + ",PATIENT_DIAGNOSIS\n", "column 17 is not a column of the table"},
		{"column twice", "APP_LID,APP_TID,APP_ACTION,APP_DATE,APP_START_TIME,RESOURCE_LID,APP_LID\n", "column 7 duplicates column 1"},
		{"too large", tmpHeader + strings.Repeat("1,appt-8,TT-8,delete,03/12/2026,11:00,,,,,,prac-1,,,,\n", 400), "exceeds the limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp"})
			e.p.job.MaxFileSize = 16 << 10
			e.drop("TT_RESERVATIONS_TMP_1.csv", tc.content)
			rep := e.poll()
			if len(rep.Files) != 1 || rep.Files[0].Outcome != ledger.OutcomeFailed || rep.Files[0].MovedTo != "error/TT_RESERVATIONS_TMP_1.csv" {
				t.Fatalf("report %+v", rep.Files)
			}
			if len(e.booker.calls) != 0 {
				t.Errorf("booker called %d times", len(e.booker.calls))
			}
			if es := e.ledger(); len(es) != 1 || !strings.Contains(es[0].Detail, tc.detail) {
				t.Errorf("ledger %+v, want detail with %q", es, tc.detail)
			}
		})
	}
}

// TestDeleteReservation: TT_DELETE_RESERVATION rows cancel by the patient;
// a row without APP_LID is refused.
func TestDeleteReservation(t *testing.T) {
	e := newEnv(t, DeleteReservation, Folder{Name: "tt-delete"})
	e.drop("TT_DELETE_RESERVATION_20261201.csv", "APP_TMP_ID;APP_LID;USER_MOBILE_PHONE;APP_STATUS;STATUS_TRIGGER;INSERT_TIME\n"+
		"1;appt-1;600000001;;;2026-12-01 09:00\n2;;600000002;;;2026-12-01 09:01\n")
	rep := e.poll()
	if len(rep.Files) != 1 || rep.Files[0].RowsOK != 1 || rep.Files[0].RowsFailed != 1 {
		t.Fatalf("report %+v", rep.Files)
	}
	if want := []call{{op: "cancel", appLID: "appt-1", byPatient: true}}; !reflect.DeepEqual(e.booker.calls, want) {
		t.Errorf("calls %+v, want %+v", e.booker.calls, want)
	}
}

// TestBookerUnavailable: an unavailable Booker leaves the file in place,
// unrecorded; the next poll applies it.
func TestBookerUnavailable(t *testing.T) {
	e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp"})
	e.booker.fn = func(call) (ws.Record, error) { return nil, ws.Errorf(ws.Unavailable, "", "store busy") }
	e.drop("TT_RESERVATIONS_TMP_1.csv", tmpHeader+"1,appt-8,TT-8,delete,03/12/2026,11:00,,,,,,prac-1,,,,\n")
	rep := e.poll()
	if len(rep.Files) != 1 || rep.Files[0].Err == nil || !e.exists("TT_RESERVATIONS_TMP_1.csv") || len(e.ledger()) != 0 {
		t.Fatalf("report %+v: want the file left in place, unrecorded", rep.Files)
	}
	e.booker.fn = nil
	rep = e.poll()
	if len(rep.Files) != 1 || rep.Files[0].Outcome != ledger.OutcomeOK || !e.exists("processed/TT_RESERVATIONS_TMP_1.csv") {
		t.Fatalf("retry report %+v", rep.Files)
	}
}

// TestRunPollsUntilCancelled: Run applies a dropped file and stops with
// its context.
func TestRunPollsUntilCancelled(t *testing.T) {
	e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp", Every: connectors.Duration(10 * time.Millisecond), MinAge: connectors.Duration(time.Nanosecond)})
	e.p.now = time.Now
	e.drop("TT_RESERVATIONS_TMP_1.csv", tmpHeader+"1,appt-8,TT-8,delete,03/12/2026,11:00,,,,,,prac-1,,,,\n")
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	open := func(ctx context.Context) (connectors.Remote, error) {
		return connectors.OpenRemote(ctx, connectors.RemoteConfig{Kind: "local", Dir: e.dir})
	}
	go func() { Run(ctx, []*Poller{e.p}, open, slog.New(slog.NewTextHandler(io.Discard, nil))); close(stopped) }()
	deadline := time.Now().Add(5 * time.Second)
	for !e.exists("processed/TT_RESERVATIONS_TMP_1.csv") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-stopped
	if !e.exists("processed/TT_RESERVATIONS_TMP_1.csv") {
		t.Fatal("Run did not apply the file")
	}
}

// TestContentBackUnderItsPath: a path that carried content A, then B,
// then A again takes the third file too, whether A was applied (the third
// is a duplicate of it) or refused (it is refused again), instead of
// failing on the ledger's key at every poll and leaving the file in the
// folder.
func TestContentBackUnderItsPath(t *testing.T) {
	good := tmpHeader + "1,appt-8,TT-8,delete,03/12/2026,11:00,,,,,,prac-1,,,,\n"
	other := tmpHeader + "1,appt-9,TT-9,delete,03/12/2026,12:00,,,,,,prac-1,,,,\n"
	refused := "APP_LID,APP_ACTION\nappt-1,delete\n"
	cases := []struct {
		name         string
		a            string
		calls        int
		thirdOutcome string
	}{
		{"applied", good, 2, ledger.OutcomeDuplicate},
		{"refused", refused, 1, ledger.OutcomeFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, ReservationsTmp, Folder{Name: "tt-tmp"})
			for i, content := range []string{tc.a, other, tc.a} {
				e.drop("TT_RESERVATIONS_TMP_1.csv", content)
				rep := e.poll()
				if len(rep.Files) != 1 || rep.Files[0].Err != nil {
					t.Fatalf("file %d: report %+v", i+1, rep.Files)
				}
				if e.exists("TT_RESERVATIONS_TMP_1.csv") {
					t.Fatalf("file %d left in the folder", i+1)
				}
			}
			if len(e.booker.calls) != tc.calls {
				t.Errorf("%d booker calls, want %d", len(e.booker.calls), tc.calls)
			}
			es := e.ledger()
			if len(es) != 3 {
				t.Fatalf("ledger %+v, want three entries", es)
			}
			if got := es[0].Outcome; got != tc.thirdOutcome && es[2].Outcome != tc.thirdOutcome {
				t.Errorf("ledger %+v: the third file's outcome is not %s", es, tc.thirdOutcome)
			}
		})
	}
}
