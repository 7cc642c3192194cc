package inbound

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ledger"
)

// TestKilledBeforeMove: the bridge commits a file and stops before the
// remote move; the next poll (same Poller, or a new one over the same
// store) applies nothing again and finishes the move.
func TestKilledBeforeMove(t *testing.T) {
	const name = "cancellations_1.csv"
	cases := []struct {
		name    string
		restart bool
	}{
		{"move fails once", false},
		{"new poller over the same store", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			router := &recRouter{}
			e := newEnv(t, Spec{}, Options{Router: router}, "a1", "a2")
			e.remote.write(name, rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;CANCELLED by ADMIN"))
			e.poll(0)
			e.remote.failMove = 1
			rep := e.poll(2 * time.Minute)
			if len(rep.Files) != 1 || rep.Files[0].Err == nil || rep.Err() == nil || rep.Files[0].MovedTo != "" {
				t.Fatalf("the failed move is not reported: %+v", rep)
			}
			if !e.remote.has(name) {
				t.Fatal("file moved although Move failed")
			}
			_, v := e.appointment("a1")
			if v != 2 || len(router.calls) != 2 {
				t.Fatalf("after commit: a1 version %d, routed %v", v, router.calls)
			}
			if c.restart {
				e.p = e.newPoller()
				if rep := e.poll(time.Minute); len(rep.Files) != 0 {
					t.Fatalf("a restarted poller took the file on its first poll: %+v", rep.Files)
				}
			}
			rep = e.poll(time.Minute)
			if len(rep.Files) != 1 {
				t.Fatalf("file not taken again: %+v", rep)
			}
			f := rep.Files[0]
			if f.Err != nil || !f.Recovered || f.Outcome != ledger.OutcomeOK || f.RowsOK != 2 || f.MovedTo != "processed/"+name {
				t.Fatalf("recovery: %+v", f)
			}
			if _, v := e.appointment("a1"); v != 2 {
				t.Errorf("a1 at version %d after recovery, want 2 (applied once)", v)
			}
			if len(router.calls) != 2 {
				t.Errorf("routed again on recovery: %v", router.calls)
			}
			if n := len(e.entries()); n != 1 {
				t.Errorf("%d ledger entries, want 1", n)
			}
			if e.remote.has(name) || !strings.Contains(e.remote.content("processed/"+name+ReportSuffix), "rows ok:  2") {
				t.Errorf("not moved with its report: %v", e.remote.moves)
			}
		})
	}
}

// TestBadRows: unknown appointment, unknown STATUS and a malformed line go
// to the report with their line numbers; the good rows apply.
func TestBadRows(t *testing.T) {
	const name = "cancellations_2.csv"
	e := newEnv(t, Spec{}, Options{}, "a1", "a2", "a3")
	e.remote.write(name, header+
		"a1;;+34600000001;;p;CANCELLED by USER\n"+ // line 2: ok
		"zz;;;;p;CANCELLED by USER\n"+ // line 3: unknown appointment
		"a2;;;;p;RESCHEDULED\n"+ // line 4: unknown STATUS
		"\n"+ // line 5: blank, skipped
		"a3;;;p;CANCELLED by ADMIN\n"+ // line 6: one field short
		"a3;x\"y;;;p;APPROVED\n"+ // line 7: bare quote
		"a3;;;;p;CANCELLED by ADMIN\n"+ // line 8: ok
		"..;;;;p;CANCELLED by USER\n") // line 9: a path step, not an id
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	if len(rep.Files) != 1 {
		t.Fatalf("%+v", rep)
	}
	f := rep.Files[0]
	if f.Err != nil || f.Outcome != ledger.OutcomePartial || f.RowsOK != 2 || f.RowsFailed != 5 || f.MovedTo != "error/"+name {
		t.Fatalf("file report %+v", f)
	}
	wantLines := []struct {
		line   int
		reason string
	}{{3, "no stored Appointment"}, {4, "field status"}, {6, "wrong number of fields"}, {7, `bare "`}, {9, "not a FHIR id"}}
	report := e.remote.content("error/" + name + ReportSuffix)
	for i, w := range wantLines {
		if i >= len(f.Failed) || f.Failed[i].Line != w.line || !strings.Contains(f.Failed[i].Reason, w.reason) {
			t.Errorf("failed[%d] = %+v, want line %d with %q", i, f.Failed, w.line, w.reason)
		}
		if !strings.Contains(report, "line "+itoa(w.line)+": ") {
			t.Errorf("report does not name line %d:\n%s", w.line, report)
		}
	}
	if !strings.Contains(report, "outcome:  partial") || !strings.Contains(report, "rows failed: 5") {
		t.Errorf("report:\n%s", report)
	}
	for _, c := range []struct {
		id, code, note string
	}{{"a1", "pat", "line 2"}, {"a3", "prov", "line 8"}} {
		a, v := e.appointment(c.id)
		code := ""
		if cr := a.Get("cancelationReason"); cr != nil {
			code = cr.Get("coding").Items[0].GetString("code")
		}
		if a.GetString("status") != "cancelled" || v != 2 || code != c.code || note(a) != "tuotempo-cancellations: "+name+" "+c.note {
			t.Errorf("%s: status %q v%d reason %q note %q", c.id, a.GetString("status"), v, code, note(a))
		}
		if !strings.Contains(string(a.JSON()), "http://example.org/other") {
			t.Errorf("%s lost its other extension", c.id)
		}
	}
	if a, v := e.appointment("a2"); a.GetString("status") != "booked" || v != 1 {
		t.Errorf("a2 changed by a refused row: %q v%d", a.GetString("status"), v)
	}
	if len(f.Cancelled) != 2 || f.Cancelled[0] != "a1" || f.Cancelled[1] != "a3" {
		t.Errorf("cancelled %v", f.Cancelled)
	}
	ent := e.entries()
	if len(ent) != 1 || ent[0].Outcome != ledger.OutcomePartial || ent[0].RowsOK != 2 || ent[0].RowsFailed != 5 || !strings.Contains(ent[0].Detail, "line 9") {
		t.Errorf("ledger %+v", ent)
	}
}

// TestWholeFileRefused: a header that does not fit the mapping applies
// nothing and goes to error/.
func TestWholeFileRefused(t *testing.T) {
	e := newEnv(t, Spec{}, Options{}, "a1")
	e.remote.write("cancellations_3.csv", "APP_LID;STATUS\na1;CANCELLED by USER\n")
	e.poll(0)
	f := e.poll(2 * time.Minute).Files[0]
	if f.Outcome != ledger.OutcomeFailed || f.RowsOK != 0 || f.MovedTo != "error/cancellations_3.csv" || len(f.Failed) != 1 || !strings.Contains(f.Failed[0].Reason, "missing column") {
		t.Fatalf("%+v", f)
	}
	if _, v := e.appointment("a1"); v != 1 {
		t.Error("a refused file changed a1")
	}
}

// TestTooLarge: a file over MaxFileSize goes to error/ unread.
func TestTooLarge(t *testing.T) {
	e := newEnv(t, Spec{MaxFileSize: 64}, Options{}, "a1")
	e.remote.write("cancellations_4.csv", rows("a1;;;;p;CANCELLED by USER"))
	e.poll(0)
	f := e.poll(2 * time.Minute).Files[0]
	if f.Err != nil || f.Outcome != ledger.OutcomeFailed || f.MovedTo != "error/cancellations_4.csv" {
		t.Fatalf("%+v", f)
	}
	if !strings.Contains(e.remote.content("error/cancellations_4.csv"+ReportSuffix), "exceeds the limit") {
		t.Error("report does not say why")
	}
	if _, v := e.appointment("a1"); v != 1 {
		t.Error("a too large file was applied")
	}
}

// TestDuplicateContent: the same content under a new name is recognised by
// its hash, reported and applies nothing; Reprocess applies it on purpose.
func TestDuplicateContent(t *testing.T) {
	router := &recRouter{}
	e := newEnv(t, Spec{}, Options{Router: router}, "a1")
	content := rows("a1;;;;p;CANCELLED by USER")
	e.remote.write("cancellations_1.csv", content)
	e.poll(0)
	e.poll(2 * time.Minute)
	// someone sets a1 back to booked; a duplicate must not cancel it again
	setStatus(t, e, "a1", "booked")
	e.remote.write("cancellations_9.csv", content)
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	f := rep.Files[0]
	if f.Outcome != ledger.OutcomeDuplicate || f.DuplicateOf != "cancellations_1.csv" || f.RowsOK != 0 || f.MovedTo != "error/cancellations_9.csv" {
		t.Fatalf("%+v", f)
	}
	if a, _ := e.appointment("a1"); a.GetString("status") != "booked" {
		t.Error("a duplicate file was applied")
	}
	if r := e.remote.content("error/cancellations_9.csv" + ReportSuffix); !strings.Contains(r, "same content as cancellations_1.csv") {
		t.Errorf("report:\n%s", r)
	}
	ent := e.entries()
	if len(ent) != 2 || ent[1].Outcome != ledger.OutcomeDuplicate {
		t.Errorf("ledger %+v", ent)
	}
	routed := len(router.calls)

	rep, err := e.p.Reprocess(context.Background(), e.remote, "error/cancellations_9.csv")
	if err != nil {
		t.Fatal(err)
	}
	f = rep.Files[0]
	if f.Outcome != ledger.OutcomeOK || f.RowsOK != 1 || f.MovedTo != "processed/cancellations_9.csv" {
		t.Fatalf("reprocess: %+v", f)
	}
	if a, _ := e.appointment("a1"); a.GetString("status") != "cancelled" || len(router.calls) != routed+1 {
		t.Errorf("reprocess did not apply: %q, routed %v", a.GetString("status"), router.calls)
	}
	if e.remote.has("error/cancellations_9.csv" + ReportSuffix) {
		t.Error("the old error report stayed behind")
	}
	// again: nothing changes, so no new version and nothing routed
	_, v := e.appointment("a1")
	if _, err := e.p.Reprocess(context.Background(), e.remote, "processed/cancellations_9.csv"); err != nil {
		t.Fatal(err)
	}
	if _, v2 := e.appointment("a1"); v2 != v || len(router.calls) != routed+1 {
		t.Errorf("second reprocess made version %d (was %d), routed %v", v2, v, router.calls)
	}
	if n := len(e.entries()); n != 4 {
		t.Errorf("%d ledger entries, want 4 (each reprocess recorded)", n)
	}
}

// TestRouted: a cancelled Appointment is handed to the router in the same
// transaction, with its new version; a row that changes nothing (a2 is
// booked already) writes no version and routes nothing.
func TestRouted(t *testing.T) {
	router := &recRouter{}
	e := newEnv(t, Spec{}, Options{Router: router}, "a1", "a2", "a3")
	setStatus(t, e, "a3", "pending")
	e.remote.write("cancellations_1.csv", rows("a1;;;;p;CANCELLED by USER", "a2;;;;p;APPROVED", "a3;;;;p;APPROVED"))
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	if f := rep.Files[0]; f.RowsOK != 3 || f.Updated != 2 {
		t.Errorf("%+v", f)
	}
	if _, v := e.appointment("a2"); v != 1 {
		t.Errorf("a2 at version %d, want 1 (unchanged)", v)
	}
	want := []string{"Appointment/a1/_history/2 cancelled", "Appointment/a3/_history/3 booked"}
	if strings.Join(router.calls, ",") != strings.Join(want, ",") {
		t.Errorf("routed %v, want %v", router.calls, want)
	}
}

// TestReusedName: a vendor sending new content under a name it used
// before gets it applied, and the earlier processed file is kept.
func TestReusedName(t *testing.T) {
	e := newEnv(t, Spec{}, Options{}, "a1")
	e.remote.write("cancellations_x.csv", rows("a1;;;;p;CANCELLED by USER"))
	e.poll(0)
	e.poll(2 * time.Minute)
	e.remote.write("cancellations_x.csv", rows("a1;;;;p;APPROVED"))
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	f := rep.Files[0]
	if f.Recovered || f.Outcome != ledger.OutcomeOK || f.MovedTo != "processed/cancellations_x.2.csv" {
		t.Fatalf("%+v", f)
	}
	if a, _ := e.appointment("a1"); a.GetString("status") != "booked" || a.Get("cancelationReason") != nil {
		t.Errorf("second file not applied: %s", a.JSON())
	}
	if !strings.Contains(e.remote.content("processed/cancellations_x.csv"), "CANCELLED") {
		t.Error("the first processed file was overwritten")
	}
}

// TestChangedWhileProcessed: a file written to after it was downloaded is
// not moved; the next polls apply its new rows and then move it.
func TestChangedWhileProcessed(t *testing.T) {
	const name = "cancellations_1.csv"
	e := newEnv(t, Spec{}, Options{}, "a1", "a2")
	e.remote.write(name, rows("a1;;;;p;CANCELLED by USER"))
	e.remote.onOpen = func(string) {
		e.remote.onOpen = nil
		e.remote.append(name, "a2;;;;p;CANCELLED by ADMIN\n")
	}
	e.poll(0)
	rep := e.poll(2 * time.Minute)
	if f := rep.Files[0]; !errors.Is(f.Err, errChanged) || !e.remote.has(name) {
		t.Fatalf("%+v", f)
	}
	e.poll(time.Minute)
	rep = e.poll(time.Minute)
	if len(rep.Files) != 1 || rep.Files[0].Err != nil || rep.Files[0].RowsOK != 2 || rep.Files[0].Updated != 1 {
		t.Fatalf("%+v", rep)
	}
	if a, v := e.appointment("a1"); v != 2 || a.GetString("status") != "cancelled" {
		t.Errorf("a1 v%d %s", v, a.GetString("status"))
	}
	if a, _ := e.appointment("a2"); a.GetString("status") != "cancelled" {
		t.Error("the appended row was lost")
	}
}
