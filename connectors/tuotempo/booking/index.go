package booking

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// indexVersion is the layout of the index rows; a store whose index was
// built by another layout (or never) is rebuilt at New.
const indexVersion = "1"

// indexedTypes are the FHIR types the index follows.
var indexedTypes = []string{"Schedule", "Slot", "PractitionerRole", "Appointment"}

// refID returns the id of a reference to typ ("Practitioner/P", or an
// absolute URL ending so), "" when ref points elsewhere.
func refID(ref, typ string) string {
	i := strings.LastIndex(ref, typ+"/") // not a URL path: a FHIR reference
	if i < 0 || (i > 0 && ref[i-1] != '/') {
		return ""
	}
	id := ref[i+len(typ)+1:]
	if id == "" || strings.Contains(id, "/") {
		return ""
	}
	return id
}

// refsOf returns the ids of the references to typ among the references of
// the array el of res, each el item's member sub (e.g. actor).
func refsOf(res *fhir.Value, el, sub, typ string) []string {
	var ids []string
	arr := res.Get(el)
	if arr == nil || arr.Kind != fhir.Array {
		return nil
	}
	for _, it := range arr.Items {
		r := it
		if sub != "" {
			r = it.Get(sub)
		}
		if id := refID(r.GetString("reference"), typ); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// idList writes ids as ",a,b," ("" for none), so LIKE '%,a,%' finds one.
func idList(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "," + strings.Join(ids, ",") + ","
}

// scheduleRow is a Schedule as the index keeps it.
type scheduleRow struct{ practitioner, locs, acts string }

func scheduleOf(res *fhir.Value) scheduleRow {
	p := refsOf(res, "actor", "", "Practitioner")
	row := scheduleRow{locs: idList(refsOf(res, "actor", "", "Location")), acts: idList(refsOf(res, "actor", "", "HealthcareService"))}
	if len(p) > 0 {
		row.practitioner = p[0]
	}
	return row
}

// slotRow is a Slot as the index keeps it.
type slotRow struct {
	schedule, status string
	start, end       int64
}

func slotOf(res *fhir.Value) slotRow {
	r := slotRow{status: res.GetString("status"), start: unixOf(res.GetString("start")), end: unixOf(res.GetString("end"))}
	if s := res.Get("schedule"); s != nil {
		r.schedule = refID(s.GetString("reference"), "Schedule")
	}
	return r
}

// unixOf parses a FHIR instant; 0 when absent or malformed.
func unixOf(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0
	}
	return t.Unix()
}

// insurancesOf returns the InsurancePlan ids a PractitionerRole names (none
// when the role is inactive) and its practitioner.
func insurancesOf(res *fhir.Value) (practitioner string, ins []string) {
	if a := res.Get("active"); a != nil && a.Kind == fhir.Bool && !a.True() {
		return "", nil
	}
	if p := res.Get("practitioner"); p != nil {
		practitioner = refID(p.GetString("reference"), "Practitioner")
	}
	if ext := res.Get("extension"); ext != nil && ext.Kind == fhir.Array {
		for _, e := range ext.Items {
			if e.GetString("url") != "urn:fhirbridge:tuotempo:insurance" {
				continue
			}
			if id := refID(e.Get("valueReference").GetString("reference"), "InsurancePlan"); id != "" {
				ins = append(ins, id)
			}
		}
	}
	return practitioner, ins
}

// apptRow is an Appointment as the index keeps it.
type apptRow struct {
	patient, practitioner, locs string
	start                       int64
}

func apptOf(res *fhir.Value) apptRow {
	r := apptRow{start: unixOf(res.GetString("start"))}
	if p := refsOf(res, "participant", "actor", "Patient"); len(p) > 0 {
		r.patient = p[0]
	}
	if p := refsOf(res, "participant", "actor", "Practitioner"); len(p) > 0 {
		r.practitioner = p[0]
	}
	r.locs = idList(refsOf(res, "participant", "actor", "Location"))
	return r
}

// execer runs a statement of the index in a transaction.
type execer struct {
	ctx context.Context
	tx  *store.Tx
}

func (e execer) exec(op, q string, args ...any) error {
	if _, err := e.tx.SQL().ExecContext(e.ctx, e.tx.Rebind(q), args...); err != nil {
		return store.Classify("booking index: "+op, err)
	}
	return nil
}

const (
	qUpsertSchedule = `INSERT INTO booking_schedules (id, practitioner, locs, acts) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET practitioner = excluded.practitioner, locs = excluded.locs, acts = excluded.acts`
	qScheduleSlots = `UPDATE booking_slots SET practitioner = ?, locs = ?, acts = ? WHERE schedule = ?`
	qUpsertSlot    = `INSERT INTO booking_slots (id, schedule, practitioner, locs, acts, start_s, end_s, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET schedule = excluded.schedule, practitioner = excluded.practitioner, locs = excluded.locs,
		acts = excluded.acts, start_s = excluded.start_s, end_s = excluded.end_s, status = excluded.status`
	qUpsertAppt = `INSERT INTO booking_appointments (id, patient, practitioner, locs, start_s, updated_us) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET patient = excluded.patient, practitioner = excluded.practitioner, locs = excluded.locs,
		start_s = excluded.start_s, updated_us = excluded.updated_us`
)

// observe keeps the index current with one stored version (res nil: the
// resource was deleted).
func observe(ctx context.Context, tx *store.Tx, typ, id string, res *fhir.Value, now func() time.Time) error {
	e := execer{ctx, tx}
	switch typ {
	case "Schedule":
		if res == nil {
			return e.exec("deleting a schedule", `DELETE FROM booking_schedules WHERE id = ?`, id)
		}
		r := scheduleOf(res)
		if err := e.exec("storing a schedule", qUpsertSchedule, id, r.practitioner, r.locs, r.acts); err != nil {
			return err
		}
		return e.exec("updating a schedule's slots", qScheduleSlots, r.practitioner, r.locs, r.acts, id)
	case "Slot":
		if res == nil {
			return e.exec("deleting a slot", `DELETE FROM booking_slots WHERE id = ?`, id)
		}
		r := slotOf(res)
		var sch scheduleRow
		if r.schedule != "" {
			err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT practitioner, locs, acts FROM booking_schedules WHERE id = ?`), r.schedule).
				Scan(&sch.practitioner, &sch.locs, &sch.acts)
			if err != nil && !isNoRows(err) {
				return store.Classify("booking index: reading a slot's schedule", err)
			}
		}
		return e.exec("storing a slot", qUpsertSlot, id, r.schedule, sch.practitioner, sch.locs, sch.acts, r.start, r.end, r.status)
	case "PractitionerRole":
		if err := e.exec("clearing a role's insurances", `DELETE FROM booking_role_insurance WHERE role = ?`, id); err != nil || res == nil {
			return err
		}
		prac, ins := insurancesOf(res)
		for _, i := range ins {
			if err := e.exec("storing a role's insurance", `INSERT INTO booking_role_insurance (role, practitioner, insurance) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, id, prac, i); err != nil {
				return err
			}
		}
		return nil
	case "Appointment":
		if res == nil {
			return e.exec("deleting an appointment", `DELETE FROM booking_appointments WHERE id = ?`, id)
		}
		r := apptOf(res)
		// the Location of the booked Slot's Schedule counts for the center
		for _, sl := range refsOf(res, "slot", "", "Slot") {
			var locs string
			err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT locs FROM booking_slots WHERE id = ?`), sl).Scan(&locs)
			if err != nil && !isNoRows(err) {
				return store.Classify("booking index: reading an appointment's slot", err)
			}
			r.locs = mergeLists(r.locs, locs)
		}
		return e.exec("storing an appointment", qUpsertAppt, id, r.patient, r.practitioner, r.locs, r.start, now().UnixMicro())
	}
	return nil
}

// mergeLists joins two id lists, each id once.
func mergeLists(a, b string) string {
	seen := map[string]bool{}
	var ids []string
	for _, l := range []string{a, b} {
		for _, id := range strings.Split(strings.Trim(l, ","), ",") {
			if id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return idList(ids)
}

// Observer is the observer to register with the delivery router
// (router.Observe) so the index follows every stored Schedule, Slot,
// PractitionerRole and Appointment inside its ingest transaction.
func (s *Service) Observer() delivery.Observer {
	return IndexObserver(func() time.Time { return s.now() })
}

// IndexObserver is the observer that keeps the booking index current: the
// module adds it to every router (bridge.ObserverProvider), so resources
// stored by serve, re-processed files and imports are all indexed. now
// stamps an Appointment's change (getAppointments' LAST_REQUEST_TIMESTAMP).
func IndexObserver(now func() time.Time) delivery.Observer {
	return delivery.Observer{Name: "tuotempo booking index", Types: indexedTypes,
		Observe: func(ctx context.Context, tx *store.Tx, typ, id string, _ int, res *fhir.Value) error {
			return observe(ctx, tx, typ, id, res, now)
		}}
}

// rebuild fills the index from the store when it was built by another
// layout or never: every current Schedule, PractitionerRole, Slot and
// Appointment, in one transaction.
func (s *Service) rebuild(ctx context.Context) error {
	var have string
	err := s.st.DB().QueryRowContext(ctx, s.st.Rebind(`SELECT v FROM booking_meta WHERE k = 'index'`)).Scan(&have)
	if err != nil && !isNoRows(err) {
		return store.Classify("booking index: reading its version", err)
	}
	if have == indexVersion {
		return nil
	}
	type item struct {
		typ, id string
		res     *fhir.Value
	}
	var items []item
	for _, typ := range indexedTypes { // Schedules before the Slots that name them
		err := s.st.Current(ctx, typ, func(id string, _ int, body []byte) error {
			v, err := fhir.Decode(body, fhir.DecodeOptions{})
			if err != nil {
				return fmt.Errorf("booking index: decoding stored %s/%s: %w", typ, id, err)
			}
			items = append(items, item{typ, id, v})
			return nil
		})
		if err != nil {
			return err
		}
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		e := execer{ctx, tx}
		for _, t := range []string{"booking_schedules", "booking_slots", "booking_role_insurance", "booking_appointments"} {
			if err := e.exec("clearing", "DELETE FROM "+t); err != nil {
				return err
			}
		}
		for _, it := range items {
			if err := observe(ctx, tx, it.typ, it.id, it.res, s.now); err != nil {
				return err
			}
		}
		return e.exec("recording its version", `INSERT INTO booking_meta (k, v) VALUES ('index', ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`, indexVersion)
	})
	if err != nil {
		return err
	}
	s.log.Info("tuotempo booking index rebuilt", "resources", len(items))
	return nil
}
