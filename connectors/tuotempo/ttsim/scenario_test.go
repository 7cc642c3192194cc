package ttsim

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func scenario(f *fakeOps, out *bytes.Buffer) *Scenario {
	return &Scenario{Caller: f, Transport: "rest", From: day0, Location: time.UTC, Out: out}
}

func TestScenarioHappyPath(t *testing.T) {
	tests := []struct {
		name     string
		set      func(*Scenario)
		wantUser string
	}{
		{"new patient, USER_TID", func(s *Scenario) {}, "pat-1"},
		{"known USER_TID", func(s *Scenario) { s.UserTID = "tid-known" }, "pat-known"},
		{"existing USER_LID", func(s *Scenario) { s.Pattern = PatternLID; s.UserLID = "pat-9" }, "pat-9"},
		{"reminders (A.4)", func(s *Scenario) { s.Reminders = true }, "pat-1"},
		{"named center and activity, results", func(s *Scenario) {
			s.Center, s.Activity, s.Resource = "c1", "act-1", "res-1"
			s.Results = &Results{DownloadCode: "CODE1", IDNumber: "X123"}
		}, "pat-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOps(day0, 4)
			var out bytes.Buffer
			s := scenario(f, &out)
			tt.set(s)
			rep, err := s.Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if rep.Center != "c1" || rep.Activity != "act-1" || rep.UserLID != tt.wantUser {
				t.Errorf("center %q activity %q user %q", rep.Center, rep.Activity, rep.UserLID)
			}
			if rep.Booked != "app-1" || rep.Moved != "app-2" || rep.BookedSlot != "slot-1" || rep.MovedSlot != "slot-2" {
				t.Errorf("booked %s on %s, moved %s on %s", rep.Booked, rep.BookedSlot, rep.Moved, rep.MovedSlot)
			}
			if got := rep.Statuses["app-1"]; !slices.Equal(got, []string{"Confirmed", "Confirmed", "Cancelled"}) {
				t.Errorf("statuses of app-1 %v", got)
			}
			if got := rep.Statuses["app-2"]; !slices.Equal(got, []string{"Confirmed", "Cancelled"}) {
				t.Errorf("statuses of app-2 %v", got)
			}
			wantOps := []string{"GetCenters", "KeyEntities", "searchAvailabilities", "addAppointment", "checkAppointment",
				"getAppointments", "deleteAppointment", "addAppointment", "checkAppointment", "deleteAppointment", "getAppointments"}
			if s.Reminders {
				wantOps = append(wantOps, "addAppointment", "SearchAppointments", "CancelAppointment", "SearchAppointments")
				// the first slot, freed by the move, is booked again
				if rep.Reminded != "app-3" || !slices.Equal(rep.Statuses["app-3"], []string{"Confirmed", "Cancelled"}) {
					t.Errorf("reminded %s, statuses %v", rep.Reminded, rep.Statuses["app-3"])
				}
			}
			if s.Results != nil {
				wantOps = append(wantOps, "getTestResultsList", "getTestResultContent")
				if rep.ResultLID != "rep-1" || rep.ResultStatus != "Valid" || rep.ResultBytes == 0 {
					t.Errorf("result %s %s %d bytes", rep.ResultLID, rep.ResultStatus, rep.ResultBytes)
				}
			}
			if !slices.Equal(f.calls, wantOps) {
				t.Errorf("calls %v\nwant %v", f.calls, wantOps)
			}
			if n := strings.Count(out.String(), "\n"); n != len(wantOps) || len(rep.Steps) != n {
				t.Errorf("%d lines, %d steps for %d calls:\n%s", n, len(rep.Steps), len(wantOps), out.String())
			}
			for _, private := range []string{"Sim", "600000000", "example.org", "1980", "X123", "CODE1", "PDF"} {
				if strings.Contains(out.String(), private) {
					t.Errorf("the step lines show patient data %q:\n%s", private, out.String())
				}
			}
		})
	}
}

func TestScenarioSlotTaken(t *testing.T) {
	f := newFakeOps(day0, 4)
	adds := 0
	f.before = func(f *fakeOps, op string, p map[string]string) {
		if op == "addAppointment" {
			adds++
			if adds == 1 {
				f.take(p["AVAILABILITY_LID"]) // someone else books it between search and add
			}
		}
	}
	var out bytes.Buffer
	rep, err := scenario(f, &out).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !slices.Equal(rep.Taken, []string{"slot-1"}) || rep.BookedSlot != "slot-2" || rep.MovedSlot != "slot-3" {
		t.Errorf("taken %v, booked %s, moved %s", rep.Taken, rep.BookedSlot, rep.MovedSlot)
	}
	if !strings.Contains(out.String(), "slot taken: AVAILABILITY_LID slot-1") {
		t.Errorf("no slot-taken line:\n%s", out.String())
	}

	// every slot taken: the run fails at addAppointment
	f = newFakeOps(day0, 2)
	f.before = func(f *fakeOps, op string, p map[string]string) {
		if op == "addAppointment" {
			f.take(p["AVAILABILITY_LID"])
		}
	}
	rep, err = scenario(f, &out).Run(context.Background())
	var se *StepError
	if !errors.As(err, &se) || se.Operation != "addAppointment" || len(rep.Taken) != 2 {
		t.Errorf("all taken: err %v, taken %v", err, rep.Taken)
	}
}

// set returns a mutation that sets field to v in op's answers (deletes it
// when v is "").
func set(onOp, field, v string) func(string, []ws.Record) []ws.Record {
	return func(op string, recs []ws.Record) []ws.Record {
		if op == onOp {
			for _, r := range recs {
				if v == "" {
					delete(r, field)
				} else {
					r[field] = v
				}
			}
		}
		return recs
	}
}

func TestScenarioCatchesWrongAnswers(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(string, []ws.Record) []ws.Record
		fails  string // the failing operation
		want   string // in the error
	}{
		{"center without name", set("GetCenters", "CENTER_NAME", ""), "GetCenters", "missing CENTER_NAME"},
		{"activity without name", set("KeyEntities", "ACTIVITY_NAME", ""), "KeyEntities", "missing ACTIVITY_NAME"},
		{"ISO date", set("searchAvailabilities", "AVA_DATE", "2026-03-03"), "searchAvailabilities", "AVA_DATE is not a dd/mm/yyyy date"},
		{"time without zero", set("searchAvailabilities", "AVA_START_TIME", "9:00"), "searchAvailabilities", "AVA_START_TIME is not an HH:mm time"},
		{"seconds", set("searchAvailabilities", "AVA_END_TIME", "09:30:00"), "searchAvailabilities", "AVA_END_TIME is not an HH:mm time"},
		{"other activity", set("searchAvailabilities", "ACTIVITY_LID", "act-2"), "searchAvailabilities", "ACTIVITY_LID act-2, searched act-1"},
		{"date outside the week", set("searchAvailabilities", "AVA_DATE", "01/01/2030"), "searchAvailabilities", "outside the searched days"},
		{"no availability id", set("searchAvailabilities", "AVAILABILITY_LID", ""), "searchAvailabilities", "missing AVAILABILITY_LID"},
		{"ADD_RESULT yes", set("addAppointment", "ADD_RESULT", "YES"), "addAppointment", `ADD_RESULT is "YES"`},
		{"OK without APP_LID", set("addAppointment", "APP_LID", ""), "addAppointment", "missing APP_LID"},
		{"OK without USER_LID", set("addAppointment", "USER_LID", ""), "addAppointment", "missing USER_LID"},
		{"status in capitals", set("checkAppointment", "STATUS", "CONFIRMED"), "checkAppointment", `STATUS "CONFIRMED"`},
		{"moved date", set("checkAppointment", "APP_DATE", "09/03/2026"), "checkAppointment", "APP_DATE is"},
		{"list without date", set("getAppointments", "APP_DATE", ""), "getAppointments", "missing APP_DATE"},
		{"not cancelled", set("getAppointments", "STATUS", "Confirmed"), "getAppointments", "is Confirmed, want Cancelled"},
		{"delete error", set("deleteAppointment", "DELETE_RESULT", "ERROR"), "deleteAppointment", "DELETE_RESULT ERROR"},
		{"two records", func(op string, recs []ws.Record) []ws.Record {
			if op == "checkAppointment" {
				return append(recs, recs[0])
			}
			return recs
		}, "checkAppointment", "answered 2 records"},
		{"reminder not cancelled", set("CancelAppointment", "RESULT", "ERROR"), "CancelAppointment", `RESULT is "ERROR"`},
		{"reminder list wrong status", set("SearchAppointments", "STATUS", "Pending"), "SearchAppointments", `STATUS "Pending"`},
		{"reminder list without the booking", func(op string, recs []ws.Record) []ws.Record {
			if op == "SearchAppointments" {
				return nil
			}
			return recs
		}, "SearchAppointments", "is not listed"},
		{"no content", set("getTestResultContent", "DOWNLOAD_CONTENT", ""), "getTestResultContent", "without DOWNLOAD_CONTENT"},
		{"result status", set("getTestResultsList", "STATUS", "final"), "getTestResultsList", `STATUS "final"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOps(day0, 4)
			f.mutate = tt.mutate
			var out bytes.Buffer
			s := scenario(f, &out)
			s.Reminders = true
			s.Results = &Results{DownloadCode: "CODE1", IDNumber: "X123"}
			_, err := s.Run(context.Background())
			var se *StepError
			if !errors.As(err, &se) {
				t.Fatalf("Run: %v, want a step error", err)
			}
			if se.Operation != tt.fails || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want step %s with %q", err, tt.fails, tt.want)
			}
			if !strings.Contains(out.String(), "FAILED") {
				t.Errorf("no FAILED line:\n%s", out.String())
			}
		})
	}
}

func TestScenarioErrors(t *testing.T) {
	f := newFakeOps(day0, 4)
	tests := []struct {
		name string
		s    Scenario
		want string
	}{
		{"no caller", Scenario{}, "no Caller"},
		{"lid without user", Scenario{Caller: f, Pattern: PatternLID}, "needs UserLID"},
		{"bad pattern", Scenario{Caller: f, Pattern: "x"}, "tid or lid"},
		{"results without code", Scenario{Caller: f, Results: &Results{IDNumber: "1"}}, "DOWNLOAD_CODE"},
		{"unknown center", Scenario{Caller: f, Center: "c9", From: day0}, "center c9 is not listed"},
		{"unknown activity", Scenario{Caller: f, Activity: "act-9", From: day0}, "activity act-9"},
		{"one slot only", Scenario{Caller: newFakeOps(day0, 1), From: day0, Location: time.UTC}, "1 availabilities"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want %q", err, tt.want)
			}
		})
	}
}
