package ttsim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
)

// Date and time layouts of tuOtempO's fields.
const (
	dateLayout = "02/01/2006"
	timeLayout = "15:04"
)

// SearchResults is AVA_RESULTS_NUMBER, how many availabilities the
// scenario asks for.
const SearchResults = 10

// availability is one searchAvailabilities record, as the booking needs it.
type availability struct {
	lid, resource, date, start, end string
}

// booking is one booked appointment.
type booking struct {
	app string
	av  availability
}

// need checks that rec has every field in names, non-empty.
func need(rec ws.Record, names ...string) error {
	var missing []string
	for _, n := range names {
		if strings.TrimSpace(rec[n]) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// checkDate checks a dd/mm/yyyy field (optional ones may be empty).
func checkDate(rec ws.Record, name string, required bool) (time.Time, error) {
	v := rec[name]
	if v == "" && !required {
		return time.Time{}, nil
	}
	d, err := time.Parse(dateLayout, v)
	if err != nil || len(v) != len(dateLayout) {
		return time.Time{}, fmt.Errorf("%s is not a dd/mm/yyyy date", name)
	}
	return d, nil
}

// checkTime checks an HH:mm field (optional ones may be empty).
func checkTime(rec ws.Record, name string, required bool) error {
	v := rec[name]
	if v == "" && !required {
		return nil
	}
	if _, err := time.Parse(timeLayout, v); err != nil || len(v) != len(timeLayout) {
		return fmt.Errorf("%s is not an HH:mm time", name)
	}
	return nil
}

func (r *run) centers(ctx context.Context) error {
	const op = "GetCenters"
	// every call, GetCenters too, is made for a center whose credential
	// the caller holds: the configured one when set
	r.rep.Center = r.s.Center
	recs, err := r.call(ctx, op, nil)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return r.fail(op, errors.New("no centers"))
	}
	found := false
	for i, rec := range recs {
		if err := need(rec, "CENTER_LID", "CENTER_NAME"); err != nil {
			return r.fail(op, fmt.Errorf("center %d: %w", i, err))
		}
		found = found || rec["CENTER_LID"] == r.s.Center
	}
	switch {
	case r.s.Center == "":
		r.rep.Center = recs[0]["CENTER_LID"]
	case !found:
		return r.fail(op, fmt.Errorf("center %s is not listed", r.s.Center))
	default:
		r.rep.Center = r.s.Center
	}
	r.line(op, fmt.Sprintf("OK %d centers; using CENTER_LID %s", len(recs), r.rep.Center))
	return nil
}

func (r *run) keyEntities(ctx context.Context) error {
	const op = "KeyEntities"
	recs, err := r.call(ctx, op, nil)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return r.fail(op, errors.New("no key entities"))
	}
	found := false
	for i, rec := range recs {
		if err := need(rec, "ACTIVITY_LID", "ACTIVITY_NAME", "RESOURCE_LID"); err != nil {
			return r.fail(op, fmt.Errorf("record %d: %w", i, err))
		}
		found = found || (rec["ACTIVITY_LID"] == r.s.Activity && (r.s.Resource == "" || rec["RESOURCE_LID"] == r.s.Resource))
	}
	switch {
	case r.s.Activity == "":
		r.rep.Activity = recs[0]["ACTIVITY_LID"]
	case !found:
		return r.fail(op, fmt.Errorf("activity %s (resource %q) is not listed", r.s.Activity, r.s.Resource))
	default:
		r.rep.Activity = r.s.Activity
	}
	r.line(op, fmt.Sprintf("OK %d records; using ACTIVITY_LID %s", len(recs), r.rep.Activity))
	return nil
}

// search asks for the activity's availabilities of the next week.
func (r *run) search(ctx context.Context) ([]availability, error) {
	const op = "searchAvailabilities"
	from := r.s.From
	if from.IsZero() {
		from = r.now()
	}
	from = from.In(r.loc)
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, r.loc)
	end := day.AddDate(0, 0, 7)
	p := map[string]string{
		"ACTIVITY_LID":       r.rep.Activity,
		"AVA_START_DAY":      day.Format(dateLayout),
		"AVA_END_DAY":        end.Format(dateLayout),
		"AVA_START_TIME":     "00:00",
		"AVA_RESULTS_NUMBER": itoa(SearchResults),
	}
	if r.s.Resource != "" {
		p["RESOURCE_LID"] = r.s.Resource
	}
	if r.s.Insurance != "" {
		p["INSURANCE_LID"] = r.s.Insurance
	}
	recs, err := r.call(ctx, op, p)
	if err != nil {
		return nil, err
	}
	if len(recs) > SearchResults {
		return nil, r.fail(op, fmt.Errorf("answered %d availabilities, more than AVA_RESULTS_NUMBER %d", len(recs), SearchResults))
	}
	avs := make([]availability, 0, len(recs))
	for i, rec := range recs {
		if err := checkAvailability(rec, r.rep.Activity, r.s.Resource, day, end); err != nil {
			return nil, r.fail(op, fmt.Errorf("availability %d: %w", i, err))
		}
		avs = append(avs, availability{lid: rec["AVAILABILITY_LID"], resource: rec["RESOURCE_LID"],
			date: rec["AVA_DATE"], start: rec["AVA_START_TIME"], end: rec["AVA_END_TIME"]})
	}
	r.rep.Availabilities = len(avs)
	if len(avs) < 2 {
		return nil, r.fail(op, fmt.Errorf("%d availabilities for ACTIVITY_LID %s in the next week: the scenario books one and moves to another", len(avs), r.rep.Activity))
	}
	r.line(op, fmt.Sprintf("OK %d availabilities, first AVAILABILITY_LID %s", len(avs), avs[0].lid))
	return avs, nil
}

// checkAvailability checks one searchAvailabilities record against the
// search.
func checkAvailability(rec ws.Record, activity, resource string, from, to time.Time) error {
	// AVAILABILITY_LID is optional in the guide, but addAppointment needs it
	if err := need(rec, "RESOURCE_LID", "ACTIVITY_LID", "AVA_DATE", "AVA_START_TIME", "AVAILABILITY_LID"); err != nil {
		return err
	}
	if rec["ACTIVITY_LID"] != activity {
		return fmt.Errorf("ACTIVITY_LID %s, searched %s", rec["ACTIVITY_LID"], activity)
	}
	if resource != "" && rec["RESOURCE_LID"] != resource {
		return fmt.Errorf("RESOURCE_LID %s, searched %s", rec["RESOURCE_LID"], resource)
	}
	d, err := checkDate(rec, "AVA_DATE", true)
	if err != nil {
		return err
	}
	if d.Before(time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)) ||
		d.After(time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)) {
		return fmt.Errorf("AVA_DATE outside the searched days")
	}
	if err := checkTime(rec, "AVA_START_TIME", true); err != nil {
		return err
	}
	return checkTime(rec, "AVA_END_TIME", false)
}

// book books the first availability of avs it can; a slot answered as
// gone (ADD_RESULT ERROR) is reported and the next one tried. It answers
// the booking and the availabilities after it.
func (r *run) book(ctx context.Context, avs []availability, what string) (booking, []availability, error) {
	const op = "addAppointment"
	for i, av := range avs {
		rec, err := r.addOnce(ctx, av)
		if err != nil {
			return booking{}, nil, err
		}
		switch rec["ADD_RESULT"] {
		case "OK":
			if err := r.checkAdded(rec); err != nil {
				return booking{}, nil, r.fail(op, err)
			}
			b := booking{app: rec["APP_LID"], av: av}
			r.line(op, fmt.Sprintf("%sOK APP_LID %s on AVAILABILITY_LID %s, USER_LID %s", what, b.app, av.lid, r.rep.UserLID))
			return b, avs[i+1:], nil
		case "ERROR":
			if rec["ERROR_MESSAGE"] == "" {
				return booking{}, nil, r.fail(op, errors.New("ADD_RESULT ERROR without ERROR_MESSAGE"))
			}
			if rec["APP_LID"] != "" {
				return booking{}, nil, r.fail(op, errors.New("ADD_RESULT ERROR with an APP_LID"))
			}
			r.rep.Taken = append(r.rep.Taken, av.lid)
			r.line(op, fmt.Sprintf("%sslot taken: AVAILABILITY_LID %s answered ADD_RESULT ERROR; trying the next", what, av.lid))
		default:
			return booking{}, nil, r.fail(op, fmt.Errorf("ADD_RESULT is %q, want OK or ERROR", rec["ADD_RESULT"]))
		}
	}
	r.step++
	return booking{}, nil, r.fail(op, fmt.Errorf("%sno availability left to book (%d taken)", what, len(r.rep.Taken)))
}

// addOnce sends one addAppointment for av.
func (r *run) addOnce(ctx context.Context, av availability) (ws.Record, error) {
	const op = "addAppointment"
	p := map[string]string{
		"ACTIVITY_LID":     r.rep.Activity,
		"RESOURCE_LID":     av.resource,
		"APP_DATE":         av.date,
		"APP_START_TIME":   av.start,
		"AVAILABILITY_LID": av.lid,
	}
	if r.s.Insurance != "" {
		p["INSURANCE_LID"] = r.s.Insurance
	}
	if r.s.Pattern == PatternLID {
		p["USER_LID"] = r.s.UserLID
	} else {
		if r.s.UserTID == "" {
			r.s.UserTID = randomTID()
		}
		p["USER_TID"] = r.s.UserTID
		pat := r.s.Patient
		if pat == nil {
			pat = DefaultPatient()
		}
		for k, v := range pat {
			p[k] = v
		}
	}
	recs, err := r.call(ctx, op, p)
	if err != nil {
		return nil, err
	}
	rec, err := one(recs)
	if err != nil {
		return nil, r.fail(op, err)
	}
	return rec, nil
}

// checkAdded checks an ADD_RESULT OK record and keeps its USER_LID.
func (r *run) checkAdded(rec ws.Record) error {
	if err := need(rec, "APP_LID", "USER_LID"); err != nil {
		return fmt.Errorf("ADD_RESULT OK: %w", err)
	}
	u := rec["USER_LID"]
	switch {
	case r.s.Pattern == PatternLID && u != r.s.UserLID:
		return fmt.Errorf("ADD_RESULT OK for USER_LID %s, booked for %s", u, r.s.UserLID)
	case r.rep.UserLID != "" && u != r.rep.UserLID:
		return fmt.Errorf("ADD_RESULT OK for USER_LID %s, the same patient was %s before", u, r.rep.UserLID)
	}
	r.rep.UserLID = u
	return nil
}

// check asks checkAppointment for b and expects it Confirmed where it was
// booked.
func (r *run) check(ctx context.Context, b booking) error {
	const op = "checkAppointment"
	recs, err := r.call(ctx, op, map[string]string{"APP_LID": b.app})
	if err != nil {
		return err
	}
	rec, err := one(recs)
	if err != nil {
		return r.fail(op, err)
	}
	if err := checkAppointment(rec); err != nil {
		return r.fail(op, err)
	}
	r.rep.Statuses[b.app] = append(r.rep.Statuses[b.app], rec["STATUS"])
	for _, c := range []struct{ field, want string }{
		{"APP_LID", b.app}, {"STATUS", "Confirmed"}, {"APP_DATE", b.av.date},
		{"APP_START_TIME", b.av.start}, {"USER_LID", r.rep.UserLID},
		{"RESOURCE_LID", b.av.resource}, {"ACTIVITY_LID", r.rep.Activity},
	} {
		if rec[c.field] != c.want {
			return r.fail(op, fmt.Errorf("%s is %q, want %q", c.field, safe(c.field, rec[c.field]), c.want))
		}
	}
	if r.s.Pattern != PatternLID && rec["USER_TID"] != "" && rec["USER_TID"] != r.s.UserTID {
		return r.fail(op, errors.New("USER_TID is not the patient's"))
	}
	r.line(op, fmt.Sprintf("OK APP_LID %s %s", b.app, rec["STATUS"]))
	return nil
}

// safe returns v for fields that hold our ids, statuses, dates or times,
// and a placeholder for the others.
func safe(field, v string) string {
	switch field {
	case "APP_LID", "STATUS", "APP_DATE", "APP_START_TIME", "APP_END_TIME", "USER_LID",
		"RESOURCE_LID", "ACTIVITY_LID", "AVAILABILITY_LID", "DELETE_RESULT", "ADD_RESULT", "RESULT":
		return v
	}
	return "(value withheld)"
}

// checkAppointment checks the fields every appointment record
// (checkAppointment, getAppointments) must have.
func checkAppointment(rec ws.Record) error {
	if err := need(rec, "APP_LID", "STATUS", "APP_DATE", "APP_START_TIME", "USER_LID", "RESOURCE_LID", "ACTIVITY_LID"); err != nil {
		return err
	}
	if s := rec["STATUS"]; s != "Confirmed" && s != "Cancelled" {
		return fmt.Errorf("STATUS %q: Confirmed or Cancelled", s)
	}
	if _, err := checkDate(rec, "APP_DATE", true); err != nil {
		return err
	}
	if err := checkTime(rec, "APP_START_TIME", true); err != nil {
		return err
	}
	return checkTime(rec, "APP_END_TIME", false)
}

// list asks getAppointments for the patient's appointments and expects
// want (APP_LID → STATUS) among them.
func (r *run) list(ctx context.Context, want map[string]string) error {
	const op = "getAppointments"
	p := map[string]string{"USER_LID": r.rep.UserLID}
	recs, err := r.call(ctx, op, p)
	if err != nil {
		return err
	}
	seen := map[string]string{}
	for i, rec := range recs {
		if err := checkAppointment(rec); err != nil {
			return r.fail(op, fmt.Errorf("appointment %d: %w", i, err))
		}
		if rec["USER_LID"] != r.rep.UserLID {
			return r.fail(op, fmt.Errorf("appointment %d is of USER_LID %s, listed for %s", i, rec["USER_LID"], r.rep.UserLID))
		}
		seen[rec["APP_LID"]] = rec["STATUS"]
	}
	var got []string
	for _, app := range sortedKeys(want) {
		st, ok := seen[app]
		if !ok {
			return r.fail(op, fmt.Errorf("APP_LID %s is not listed", app))
		}
		r.rep.Statuses[app] = append(r.rep.Statuses[app], st)
		if st != want[app] {
			return r.fail(op, fmt.Errorf("APP_LID %s is %s, want %s", app, st, want[app]))
		}
		got = append(got, app+" "+st)
	}
	r.line(op, fmt.Sprintf("OK %d appointments; %s", len(recs), strings.Join(got, ", ")))
	return nil
}

// cancel deletes the appointment app.
func (r *run) cancel(ctx context.Context, app, what string) error {
	const op = "deleteAppointment"
	recs, err := r.call(ctx, op, map[string]string{"APP_LID": app})
	if err != nil {
		return err
	}
	rec, err := one(recs)
	if err != nil {
		return r.fail(op, err)
	}
	switch rec["DELETE_RESULT"] {
	case "OK":
	case "ERROR":
		return r.fail(op, fmt.Errorf("DELETE_RESULT ERROR for APP_LID %s", app))
	default:
		return r.fail(op, fmt.Errorf("DELETE_RESULT is %q, want OK", safe("DELETE_RESULT", rec["DELETE_RESULT"])))
	}
	r.line(op, fmt.Sprintf("%sOK APP_LID %s", what, app))
	return nil
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
