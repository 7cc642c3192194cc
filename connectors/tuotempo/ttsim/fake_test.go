package ttsim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// fakeSlot is one slot of the fake operations.
type fakeSlot struct {
	lid, resource, activity string
	start                   time.Time
	app                     string // the booking holding it, "" when free
}

// fakeApp is one appointment of the fake operations.
type fakeApp struct {
	lid, user, tid, slot string
	cancelled            bool
}

// fakeOps is an in-memory stand-in for the bridge's booking, catalog and
// results operations, behaving as the guide's B.2.2 / A.4 describe: add
// books a free slot (ADD_RESULT ERROR when taken; a retried call answers
// the first record), delete cancels and frees the slot, check and list
// answer Confirmed or Cancelled. It is a Caller.
type fakeOps struct {
	mu       sync.Mutex
	center   string
	slots    []*fakeSlot
	apps     map[string]*fakeApp
	users    map[string]string // USER_TID → USER_LID
	nextApp  int
	nextUser int
	calls    []string
	// before runs before each call (under no lock), to take slots or
	// count.
	before func(f *fakeOps, op string, p map[string]string)
	// mutate rewrites each answer, to test the scenario's checks.
	mutate func(op string, recs []ws.Record) []ws.Record
}

// newFakeOps has center c1 with n free slots of act-1 / res-1, an hour
// apart from 09:00 on day.
func newFakeOps(day time.Time, n int) *fakeOps {
	f := &fakeOps{center: "c1", apps: map[string]*fakeApp{}, users: map[string]string{"tid-known": "pat-known"}}
	for i := range n {
		f.slots = append(f.slots, &fakeSlot{lid: fmt.Sprintf("slot-%d", i+1), resource: "res-1", activity: "act-1",
			start: time.Date(day.Year(), day.Month(), day.Day()+1, 9+i, 0, 0, 0, time.UTC)})
	}
	return f
}

// take books slot lid for another patient.
func (f *fakeOps) take(lid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.slots {
		if s.lid == lid {
			s.app = "other"
		}
	}
}

func (f *fakeOps) Call(_ context.Context, op, center string, p map[string]string) ([]ws.Record, error) {
	if f.before != nil {
		f.before(f, op, p)
	}
	f.mu.Lock()
	f.calls = append(f.calls, op)
	recs, err := f.answer(op, center, p)
	f.mu.Unlock()
	if err == nil && f.mutate != nil {
		recs = f.mutate(op, recs)
	}
	return recs, err
}

func (f *fakeOps) answer(op, center string, p map[string]string) ([]ws.Record, error) {
	if op != "GetCenters" && center != f.center {
		return nil, ws.Errorf(ws.NotFound, "CENTER_LID", "no such center")
	}
	switch op {
	case "GetCenters":
		return []ws.Record{{"CENTER_LID": "c1", "CENTER_NAME": "Center one"}, {"CENTER_LID": "c2", "CENTER_NAME": "Center two"}}, nil
	case "KeyEntities":
		return []ws.Record{{"ACTIVITY_LID": "act-1", "ACTIVITY_NAME": "Checkup", "RESOURCE_LID": "res-1",
			"RESOURCE_FIRST_NAME": "Ana", "RESOURCE_SECOND_NAME": "Doc"}}, nil
	case "searchAvailabilities":
		return f.search(p)
	case "addAppointment":
		return []ws.Record{f.add(p)}, nil
	case "deleteAppointment":
		a := f.apps[p["APP_LID"]]
		if a == nil {
			return []ws.Record{{"DELETE_RESULT": "ERROR", "ERROR_MESSAGE": "no such appointment"}}, nil
		}
		if !a.cancelled {
			a.cancelled = true
			f.slot(a.slot).app = ""
		}
		return []ws.Record{{"DELETE_RESULT": "OK", "APP_LID": a.lid}}, nil
	case "checkAppointment":
		a := f.apps[p["APP_LID"]]
		if a == nil {
			return nil, ws.Errorf(ws.NotFound, "APP_LID", "no such appointment")
		}
		return []ws.Record{f.record(a)}, nil
	case "getAppointments", "SearchAppointments":
		var out []ws.Record
		for _, k := range sortedApps(f.apps) {
			a := f.apps[k]
			if a.user != p["USER_LID"] {
				continue
			}
			day := f.slot(a.slot).start.Format(dateLayout)
			if op == "SearchAppointments" && ((p["START_DATE"] != "" && day != p["START_DATE"]) || (p["END_DATE"] != "" && day != p["END_DATE"])) {
				continue // the fake's slots are on one day each: an exact match stands for the interval
			}
			out = append(out, f.record(a))
		}
		return out, nil
	case "CancelAppointment":
		a := f.apps[p["APP_LID"]]
		if a == nil || a.user != p["USER_LID"] {
			return []ws.Record{{"RESULT": "ERROR", "DELETE_RESULT": "ERROR", "APP_LID": "no such appointment"}}, nil
		}
		if !a.cancelled {
			a.cancelled = true
			f.slot(a.slot).app = ""
		}
		return []ws.Record{{"RESULT": "OK", "DELETE_RESULT": "OK", "APP_LID": a.lid}}, nil
	case "getTestResultsList":
		return []ws.Record{
			{"DOWNLOAD_LID": "rep-1", "STATUS": "Valid", "DOWNLOAD_CODE": "CODE1", "DOWNLOAD_TYPE": "pdf", "USER_LID": p["USER_LID"], "USER_ID_NUMBER": "X123", "USER_MOBILE_PHONE": "600000000"},
			{"DOWNLOAD_LID": "rep-2", "STATUS": "Cancelled", "DOWNLOAD_CODE": "CODE2", "DOWNLOAD_TYPE": "pdf", "USER_LID": p["USER_LID"], "USER_ID_NUMBER": "X123", "USER_MOBILE_PHONE": "600000000"},
		}, nil
	case "getTestResultContent":
		if p["DOWNLOAD_LID"] != "rep-1" || p["DOWNLOAD_CODE"] != "CODE1" || p["USER_ID_NUMBER"] != "X123" {
			return nil, ws.Errorf(ws.NotFound, "DOWNLOAD_LID", "no such result")
		}
		return []ws.Record{{"DOWNLOAD_LID": "rep-1", "STATUS": "Valid", "DOWNLOAD_CONTENT": "%PDF-1.4 fake"}}, nil
	}
	return nil, ws.Errorf(ws.NotFound, "", "no operation %s", op)
}

func (f *fakeOps) search(p map[string]string) ([]ws.Record, error) {
	from, err := time.Parse(dateLayout, p["AVA_START_DAY"])
	if err != nil {
		return nil, ws.Errorf(ws.BadRequest, "AVA_START_DAY", "not dd/mm/yyyy")
	}
	to, err := time.Parse(dateLayout, p["AVA_END_DAY"])
	if err != nil {
		return nil, ws.Errorf(ws.BadRequest, "AVA_END_DAY", "not dd/mm/yyyy")
	}
	var out []ws.Record
	for _, s := range f.slots {
		if s.app != "" || s.activity != p["ACTIVITY_LID"] || s.start.Before(from) || s.start.After(to.AddDate(0, 0, 1)) {
			continue
		}
		out = append(out, ws.Record{"RESOURCE_LID": s.resource, "ACTIVITY_LID": s.activity, "AVAILABILITY_LID": s.lid,
			"AVA_DATE": s.start.Format(dateLayout), "AVA_START_TIME": s.start.Format(timeLayout),
			"AVA_END_TIME": s.start.Add(30 * time.Minute).Format(timeLayout)})
	}
	return out, nil
}

func (f *fakeOps) slot(lid string) *fakeSlot {
	for _, s := range f.slots {
		if s.lid == lid {
			return s
		}
	}
	return nil
}

func (f *fakeOps) add(p map[string]string) ws.Record {
	user := p["USER_LID"]
	if user == "" {
		if user = f.users[p["USER_TID"]]; user == "" {
			f.nextUser++
			user = fmt.Sprintf("pat-%d", f.nextUser)
			f.users[p["USER_TID"]] = user
		}
	}
	s := f.slot(p["AVAILABILITY_LID"])
	if s == nil || s.activity != p["ACTIVITY_LID"] || s.start.Format(dateLayout) != p["APP_DATE"] || s.start.Format(timeLayout) != p["APP_START_TIME"] {
		return ws.Record{"ADD_RESULT": "ERROR", "ERROR_MESSAGE": "no such availability"}
	}
	if s.app != "" {
		if a := f.apps[s.app]; a != nil && a.user == user {
			return ws.Record{"ADD_RESULT": "OK", "APP_LID": a.lid, "USER_LID": user} // a retry
		}
		return ws.Record{"ADD_RESULT": "ERROR", "ERROR_MESSAGE": "the availability is no longer free"}
	}
	f.nextApp++
	a := &fakeApp{lid: fmt.Sprintf("app-%d", f.nextApp), user: user, tid: p["USER_TID"], slot: s.lid}
	f.apps[a.lid] = a
	s.app = a.lid
	return ws.Record{"ADD_RESULT": "OK", "APP_LID": a.lid, "USER_LID": user}
}

func (f *fakeOps) record(a *fakeApp) ws.Record {
	s := f.slot(a.slot)
	st := "Confirmed"
	if a.cancelled {
		st = "Cancelled"
	}
	return ws.Record{"APP_LID": a.lid, "STATUS": st, "APP_DATE": s.start.Format(dateLayout),
		"APP_START_TIME": s.start.Format(timeLayout), "APP_END_TIME": s.start.Add(30 * time.Minute).Format(timeLayout),
		"USER_LID": a.user, "USER_TID": a.tid, "RESOURCE_LID": s.resource, "ACTIVITY_LID": s.activity}
}

func sortedApps(m map[string]*fakeApp) []string {
	return slices.Sorted(maps.Keys(m))
}
