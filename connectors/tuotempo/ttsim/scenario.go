package ttsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"
	_ "time/tzdata" // the center's zone without an OS time zone database

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// Patient patterns of addAppointment (guide B.2.2): which id links the
// patient between tuOtempO and the bridge.
const (
	// PatternTID: tuOtempO sends its own patient id, USER_TID, and the
	// patient's data; the bridge finds or creates the Patient.
	PatternTID = "tid"
	// PatternLID: tuOtempO sends the bridge's patient id, USER_LID, of a
	// patient it booked before.
	PatternLID = "lid"
)

// Scenario is one visit of a patient to tuOtempO's portal, as web
// service calls to the bridge:
//
//	GetCenters → KeyEntities → searchAvailabilities (the activity, the
//	next week) → addAppointment → checkAppointment → getAppointments →
//	move (deleteAppointment, then addAppointment on another slot) →
//	deleteAppointment (the patient cancels) → getAppointments (Cancelled)
//
// and, when Results is set, getTestResultsList → getTestResultContent.
// Every answer is checked as tuOtempO reads it (ADD_RESULT OK, required
// fields present, dates dd/mm/yyyy, times HH:mm); the first wrong answer
// ends the run with an error naming the step. A slot taken between the
// search and the booking (ADD_RESULT ERROR) is not a failure: the
// scenario reports it and books the next availability, as the portal
// does. Set the fields, then call Run; a Scenario is not for concurrent
// use.
type Scenario struct {
	// Caller carries the calls (required).
	Caller Caller
	// Transport names the transport in step lines ("rest", "soap").
	Transport string
	// Center is CENTER_LID; "" takes the first center GetCenters lists.
	Center string
	// Activity is ACTIVITY_LID; "" takes the first activity KeyEntities
	// lists.
	Activity string
	// Resource, when set, is the RESOURCE_LID searched.
	Resource string
	// Insurance, when set, is the INSURANCE_LID searched and booked.
	Insurance string
	// Pattern is PatternTID (default) or PatternLID.
	Pattern string
	// UserTID is the patient's id in tuOtempO (PatternTID); "" makes a
	// random one.
	UserTID string
	// UserLID is the bridge's id of an existing patient (PatternLID,
	// required there).
	UserLID string
	// Patient is the data a new patient registers with (PatternTID):
	// USER_FIRST_NAME, USER_MOBILE_PHONE, … (synthetic by default, see
	// DefaultPatient). Never printed.
	Patient map[string]string
	// From is the first day searched (default today); the search covers
	// it and the next 7 days.
	From time.Time
	// Location is the center's time zone (default Europe/Madrid).
	Location *time.Location
	// Reminders adds the A.4 steps tuOtempO's reminders use: a new
	// booking, SearchAppointments lists it Confirmed, CancelAppointment
	// (the patient's answer to a reminder) cancels it, SearchAppointments
	// lists it Cancelled.
	Reminders bool
	// Results, when set, adds the results steps.
	Results *Results
	// Out receives one line per step (nil: none).
	Out io.Writer
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Results are the results steps' inputs: the patient whose results are
// listed and the DOWNLOAD_CODE / USER_ID_NUMBER pair the patient types to
// fetch one result's content.
type Results struct {
	// UserLID is the patient listed ("" = the booking's patient).
	UserLID string
	// StartDate is RESULT_START_DATE, dd/mm/yyyy ("" = none).
	StartDate string
	// DownloadCode and IDNumber are the pair given (both required).
	DownloadCode, IDNumber string
}

// DefaultPatient is the synthetic patient a Scenario registers when its
// Patient is nil.
func DefaultPatient() map[string]string {
	return map[string]string{
		"USER_FIRST_NAME":    "Sim",
		"USER_SECOND_NAME":   "Patient",
		"USER_GENDER":        "F",
		"USER_DATE_OF_BIRTH": "01/02/1980",
		"USER_MOBILE_PHONE":  "600000000",
		"USER_EMAIL":         "sim.patient@example.org",
	}
}

// Report is what a run saw, in our ids only.
type Report struct {
	// Center, Activity are the CENTER_LID and ACTIVITY_LID used.
	Center, Activity string
	// UserLID is the patient's id the bridge answered.
	UserLID string
	// Availabilities is how many availabilities the search answered.
	Availabilities int
	// Booked is the APP_LID of the first booking; Moved the APP_LID of the
	// booking on the other slot.
	Booked, Moved string
	// BookedSlot, MovedSlot are their AVAILABILITY_LIDs.
	BookedSlot, MovedSlot string
	// Reminded is the APP_LID the reminder steps booked and cancelled.
	Reminded string
	// Taken are the AVAILABILITY_LIDs addAppointment refused as no longer
	// free (ADD_RESULT ERROR), in order.
	Taken []string
	// Statuses maps APP_LID to the STATUS values seen for it, in order
	// (checkAppointment and getAppointments).
	Statuses map[string][]string
	// ResultLID is the DOWNLOAD_LID fetched; ResultStatus its STATUS;
	// ResultBytes the length of its content.
	ResultLID, ResultStatus string
	ResultBytes             int
	// Steps are the step lines, as printed.
	Steps []string
}

// StepError is the error of a step: the step's number and operation and
// what was wrong (never a value of a patient).
type StepError struct {
	Step      int
	Operation string
	Err       error
}

// Error implements error.
func (e *StepError) Error() string {
	return fmt.Sprintf("tuOtempO scenario step %d (%s): %v", e.Step, e.Operation, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

// run is the state of one Run.
type run struct {
	s    *Scenario
	rep  *Report
	step int
	loc  *time.Location
}

// Run plays the scenario and returns its report; on error the report
// holds what was seen up to the failing step.
func (s *Scenario) Run(ctx context.Context) (*Report, error) {
	r := &run{s: s, rep: &Report{Statuses: map[string][]string{}}}
	if err := r.init(); err != nil {
		return r.rep, err
	}
	if err := r.play(ctx); err != nil {
		return r.rep, err
	}
	return r.rep, nil
}

func (r *run) init() error {
	s := r.s
	if s.Caller == nil {
		return fmt.Errorf("tuOtempO scenario: no Caller")
	}
	switch s.Pattern {
	case "", PatternTID:
	case PatternLID:
		if s.UserLID == "" {
			return fmt.Errorf("tuOtempO scenario: the USER_LID pattern needs UserLID")
		}
	default:
		return fmt.Errorf("tuOtempO scenario: pattern %q: tid or lid", s.Pattern)
	}
	if s.Results != nil && (s.Results.DownloadCode == "" || s.Results.IDNumber == "") {
		return fmt.Errorf("tuOtempO scenario: the results steps need a DOWNLOAD_CODE and a USER_ID_NUMBER")
	}
	r.loc = s.Location
	if r.loc == nil {
		loc, err := time.LoadLocation("Europe/Madrid")
		if err != nil {
			return fmt.Errorf("tuOtempO scenario: loading the center's time zone: %w", err)
		}
		r.loc = loc
	}
	return nil
}

func (r *run) now() time.Time {
	if r.s.Now != nil {
		return r.s.Now()
	}
	return time.Now()
}

// call makes the next step's call; it numbers the step.
func (r *run) call(ctx context.Context, op string, params map[string]string) ([]ws.Record, error) {
	r.step++
	recs, err := r.s.Caller.Call(ctx, op, r.rep.Center, params)
	if err != nil {
		return nil, r.fail(op, fmt.Errorf("calling: %w", err))
	}
	return recs, nil
}

// fail wraps err as the current step's error and prints it.
func (r *run) fail(op string, err error) error {
	se := &StepError{Step: r.step, Operation: op, Err: err}
	r.line(op, "FAILED: "+err.Error())
	return se
}

// line prints and records the current step's line.
func (r *run) line(op, outcome string) {
	tr := r.s.Transport
	if tr == "" {
		tr = "-"
	}
	l := fmt.Sprintf("%2d %-22s %-4s %s", r.step, op, tr, outcome)
	r.rep.Steps = append(r.rep.Steps, l)
	if r.s.Out != nil {
		fmt.Fprintln(r.s.Out, l)
	}
}

// one checks a single-record answer.
func one(recs []ws.Record) (ws.Record, error) {
	if len(recs) != 1 {
		return nil, fmt.Errorf("answered %d records, want 1", len(recs))
	}
	return recs[0], nil
}

// randomTID is a fresh USER_TID.
func randomTID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "sim-" + hex.EncodeToString(b)
}

func (r *run) play(ctx context.Context) error {
	for _, step := range []func(context.Context) error{
		r.centers, r.keyEntities,
	} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	avs, err := r.search(ctx)
	if err != nil {
		return err
	}
	first, rest, err := r.book(ctx, avs, "")
	if err != nil {
		return err
	}
	r.rep.Booked, r.rep.BookedSlot = first.app, first.av.lid
	if err := r.check(ctx, first); err != nil {
		return err
	}
	if err := r.list(ctx, map[string]string{first.app: "Confirmed"}); err != nil {
		return err
	}
	// move, as tuOtempO does over web services: cancel, then book again
	if err := r.cancel(ctx, first.app, "move: "); err != nil {
		return err
	}
	moved, _, err := r.book(ctx, rest, "move: ")
	if err != nil {
		return err
	}
	r.rep.Moved, r.rep.MovedSlot = moved.app, moved.av.lid
	if err := r.check(ctx, moved); err != nil {
		return err
	}
	if err := r.cancel(ctx, moved.app, "cancel: "); err != nil {
		return err
	}
	if err := r.list(ctx, map[string]string{first.app: "Cancelled", moved.app: "Cancelled"}); err != nil {
		return err
	}
	if r.s.Reminders {
		if err := r.reminders(ctx, avs); err != nil {
			return err
		}
	}
	if r.s.Results != nil {
		return r.results(ctx)
	}
	return nil
}

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
