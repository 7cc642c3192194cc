package booking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Messages of ADD_RESULT/DELETE_RESULT ERROR: they name no patient data.
const (
	msgNoSlot      = "the availability does not exist"
	msgTaken       = "the availability is no longer free"
	msgMismatch    = "APP_DATE and APP_START_TIME do not match the availability"
	msgActivity    = "the availability does not offer this activity"
	msgNoApp       = "the appointment does not exist"
	msgNoPatient   = "the patient is not known (USER_TID pattern needs USER_TID)"
	msgUserMissing = "USER_LID or USER_TID is required"
)

// errAnswer aborts a transaction with an ERROR record (nothing written).
type errAnswer struct{ rec ws.Record }

func (e *errAnswer) Error() string { return "booking refused: " + e.rec["ERROR_MESSAGE"] }

func addError(msg string) ws.Record {
	return ws.Record{"ADD_RESULT": "ERROR", "ERROR_MESSAGE": msg}
}

// slotInfo is a slot's index row.
type slotInfo struct {
	id, schedule, practitioner, locs, acts, status string
	start, end                                     int64
}

func (s *Service) slotRow(ctx context.Context, tx *store.Tx, id string) (*slotInfo, error) {
	si := &slotInfo{id: id}
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT schedule, practitioner, locs, acts, status, start_s, end_s FROM booking_slots WHERE id = ?`), id).
		Scan(&si.schedule, &si.practitioner, &si.locs, &si.acts, &si.status, &si.start, &si.end)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Classify("booking: reading a slot", err)
	}
	return si, nil
}

// findSlotAt returns the id of RESOURCE_LID's slot starting at APP_DATE
// APP_START_TIME (a free one first), "" when none.
func (s *Service) findSlotAt(ctx context.Context, center string, p map[string]string) (string, error) {
	loc := s.zone(center)
	day, ok1 := parseDay(p["APP_DATE"], loc)
	m, ok2 := parseClock(p["APP_START_TIME"])
	if !ok1 || !ok2 || p["RESOURCE_LID"] == "" {
		return "", nil
	}
	var id string
	err := s.st.DB().QueryRowContext(ctx, s.st.Rebind(`SELECT id FROM booking_slots WHERE practitioner = ? AND start_s = ?
		ORDER BY CASE status WHEN 'free' THEN 0 ELSE 1 END, id LIMIT 1`), p["RESOURCE_LID"], at(day, m).Unix()).Scan(&id)
	if isNoRows(err) {
		return "", nil
	}
	if err != nil {
		return "", store.Classify("booking: finding a slot by time", err)
	}
	return id, nil
}

// checkSlot refuses a slot of another center, one whose APP_DATE /
// APP_START_TIME differ from the request's, or that does not offer the
// activity.
func (s *Service) checkSlot(c *ws.Center, si *slotInfo, p map[string]string) *errAnswer {
	if si == nil || !inCenter(c, si.locs) || si.practitioner == "" {
		return &errAnswer{addError(msgNoSlot)}
	}
	if r := p["RESOURCE_LID"]; r != "" && r != si.practitioner {
		return &errAnswer{addError(msgNoSlot)}
	}
	start := time.Unix(si.start, 0).In(s.zone(c.LID))
	if d := p["APP_DATE"]; d != "" {
		if day, ok := parseDay(d, start.Location()); !ok || !sameDay(day, start) {
			return &errAnswer{addError(msgMismatch)}
		}
	}
	if t := p["APP_START_TIME"]; t != "" && t != start.Format("15:04") {
		return &errAnswer{addError(msgMismatch)}
	}
	if a := p["ACTIVITY_LID"]; a != "" && si.acts != "" && !containsID(si.acts, a) {
		return &errAnswer{addError(msgActivity)}
	}
	return nil
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// requestKey is the key of an addAppointment call: center, the patient
// (every USER_* parameter), slot and activity, hashed.
func requestKey(center, slot string, p map[string]string) string {
	var keys []string
	for k := range p {
		if strings.HasPrefix(k, "USER_") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	fmt.Fprintf(h, "%q|%q|%q", center, slot, p["ACTIVITY_LID"])
	for _, k := range keys {
		fmt.Fprintf(h, "|%q=%q", k, strings.TrimSpace(p[k]))
	}
	return "add:" + hex.EncodeToString(h.Sum(nil))
}

// keptAnswer returns the record kept under key, or nil.
func keptAnswer(ctx context.Context, tx *store.Tx, key string) (ws.Record, error) {
	var body string
	err := tx.SQL().QueryRowContext(ctx, tx.Rebind(`SELECT record FROM booking_requests WHERE k = ?`), key).Scan(&body)
	if isNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, store.Classify("booking: reading a kept answer", err)
	}
	var rec ws.Record
	if err := json.Unmarshal([]byte(body), &rec); err != nil {
		return nil, fmt.Errorf("booking: decoding a kept answer: %w", err)
	}
	return rec, nil
}

// liveAnswer is keptAnswer for a booking still in force: a kept OK whose
// Appointment has since been cancelled (or withdrawn) answers nothing and
// is forgotten, so the same patient booking the freed slot again gets a
// new Appointment rather than the cancelled one.
func liveAnswer(ctx context.Context, tx *store.Tx, key string) (ws.Record, error) {
	rec, err := keptAnswer(ctx, tx, key)
	if err != nil || rec == nil || rec["ADD_RESULT"] != "OK" {
		return rec, err
	}
	a, err := load(ctx, tx, "Appointment", rec["APP_LID"])
	if err != nil {
		return nil, err
	}
	if a != nil {
		switch a.GetString("status") {
		case "cancelled", "noshow", "entered-in-error":
		default:
			return rec, nil
		}
	}
	if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`DELETE FROM booking_requests WHERE k = ?`), key); err != nil {
		return nil, store.Classify("booking: forgetting a cancelled booking's answer", err)
	}
	return nil, nil
}

// claimSlot turns a free slot busy in the index; false when it was not
// free. On PostgreSQL a concurrent claimer waits for the row and then
// finds it busy: exactly one wins.
func claimSlot(ctx context.Context, tx *store.Tx, id string) (bool, error) {
	res, err := tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE booking_slots SET status = 'busy' WHERE id = ? AND status = 'free'`), id)
	if err != nil {
		return false, store.Classify("booking: claiming a slot", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, store.Classify("booking: claiming a slot", err)
	}
	return n == 1, nil
}

// put stores res as typ/id and routes the new version (observers,
// routes): returns whether it changed.
func (s *Service) put(ctx context.Context, tx *store.Tx, typ, id string, res *fhir.Value) error {
	v, changed, err := tx.PutValue(ctx, typ, id, res)
	if err != nil {
		return fmt.Errorf("booking: storing %s/%s: %w", typ, id, err)
	}
	if changed && s.router != nil {
		if err := s.router.Route(ctx, tx, typ, id, v, res); err != nil {
			return fmt.Errorf("booking: routing %s/%s: %w", typ, id, err)
		}
	}
	return nil
}

// load reads and decodes typ/id in tx; nil when it is not stored.
func load(ctx context.Context, tx *store.Tx, typ, id string) (*fhir.Value, error) {
	body, _, err := tx.GetResource(ctx, typ, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("booking: reading %s/%s: %w", typ, id, err)
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("booking: decoding %s/%s: %w", typ, id, err)
	}
	return v, nil
}

// with returns a copy of the object res with member key set to val (nil
// removes it), keeping the order of the other members.
func with(res *fhir.Value, key string, val *fhir.Value) *fhir.Value {
	out := fhir.NewObject()
	done := false
	for _, m := range res.Members {
		if m.Key == key {
			if val != nil && !done {
				out.Members = append(out.Members, fhir.Member{Key: key, Value: val})
			}
			done = true
			continue
		}
		out.Members = append(out.Members, m)
	}
	if !done && val != nil {
		out.Members = append(out.Members, fhir.Member{Key: key, Value: val})
	}
	return out
}

// setSlotStatus stores Slot/id with status, when it is stored.
func (s *Service) setSlotStatus(ctx context.Context, tx *store.Tx, id, status string) error {
	slot, err := load(ctx, tx, "Slot", id)
	if err != nil {
		return err
	}
	if slot == nil {
		return fmt.Errorf("booking: Slot/%s is indexed but not stored: %w", id, store.ErrNotFound)
	}
	if status == "free" && slot.GetString("status") == "entered-in-error" {
		return nil // the EHR removed it: a cancellation does not make it bookable again
	}
	if err := s.put(ctx, tx, "Slot", id, with(slot, "status", fhir.NewString(status))); err != nil {
		return err
	}
	// the index follows even when no observer is registered
	_, err = tx.SQL().ExecContext(ctx, tx.Rebind(`UPDATE booking_slots SET status = ? WHERE id = ?`), status, id)
	return store.Classify("booking: updating a slot's status", err)
}

func ref(s string) *fhir.Value {
	o := fhir.NewObject()
	o.Set("reference", fhir.NewString(s))
	return o
}

func participant(reference string) *fhir.Value {
	o := fhir.NewObject()
	o.Set("actor", ref(reference))
	o.Set("status", fhir.NewString("accepted"))
	return o
}

// appointmentFor builds the booked Appointment id for slot si.
func appointmentFor(id, patient string, si *slotInfo, p map[string]string) *fhir.Value {
	a := fhir.NewObject()
	a.Set("resourceType", fhir.NewString("Appointment"))
	a.Set("id", fhir.NewString(id))
	if ins := p["INSURANCE_LID"]; ins != "" {
		e := fhir.NewObject()
		e.Set("url", fhir.NewString("urn:fhirbridge:tuotempo:insurance"))
		e.Set("valueReference", ref("InsurancePlan/"+ins))
		a.Set("extension", fhir.NewArray(e))
	}
	if tid := p["APP_TID"]; tid != "" {
		i := fhir.NewObject()
		i.Set("system", fhir.NewString("urn:fhirbridge:tuotempo:app-tid"))
		i.Set("value", fhir.NewString(tid))
		a.Set("identifier", fhir.NewArray(i))
	}
	a.Set("status", fhir.NewString("booked"))
	setSlot(a, si, p["ACTIVITY_LID"], patient)
	return a
}

// setSlot sets an Appointment's start, end, slot and participants for
// slot si (the activity and patient kept).
func setSlot(a *fhir.Value, si *slotInfo, activity, patient string) {
	a.Set("start", fhir.NewString(time.Unix(si.start, 0).UTC().Format(time.RFC3339)))
	if si.end > 0 {
		a.Set("end", fhir.NewString(time.Unix(si.end, 0).UTC().Format(time.RFC3339)))
	}
	a.Set("slot", fhir.NewArray(ref("Slot/"+si.id)))
	parts := []*fhir.Value{participant("Patient/" + patient), participant("Practitioner/" + si.practitioner)}
	if l := strings.Split(strings.Trim(si.locs, ","), ","); l[0] != "" {
		parts = append(parts, participant("Location/"+l[0]))
	}
	if activity != "" {
		parts = append(parts, participant("HealthcareService/"+activity))
	}
	a.Set("participant", fhir.NewArray(parts...))
}

// writeBack is the data of a tuotempo-booking job.
type writeBack struct {
	Appointment string   `json:"appointment"`
	Patient     string   `json:"patient,omitempty"` // a Patient the booking created
	Slots       []string `json:"slots"`
}

// enqueue queues the write-back of a change (kind book, move or cancel).
func enqueue(ctx context.Context, tx *store.Tx, kind string, wb writeBack) error {
	data, err := json.Marshal(wb)
	if err != nil {
		return fmt.Errorf("booking: encoding a write-back: %w", err)
	}
	_, err = delivery.EnqueueWork(ctx, tx, delivery.WorkJob{Flow: Flow, Kind: kind, Key: wb.Appointment + "/" + newID(), Data: data}) // not a URL path: a job key
	return err
}

// Add books the free Slot the request names (ws.Booker).
func (s *Service) Add(ctx context.Context, center string, p map[string]string) (ws.Record, error) {
	c, err := s.centerOf(center)
	if err != nil {
		return nil, err
	}
	if s.cfg.UserPattern == PatternTID && p["USER_TID"] == "" {
		return addError(msgNoPatient), nil
	}
	slotID := p["AVAILABILITY_LID"]
	if slotID == "" {
		if slotID, err = s.findSlotAt(ctx, center, p); err != nil {
			return nil, err
		}
		if slotID == "" {
			return addError(msgNoSlot), nil
		}
	}
	key := requestKey(center, slotID, p)
	var rec ws.Record
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		rec = nil
		if kept, err := liveAnswer(ctx, tx, key); err != nil || kept != nil {
			rec = kept
			return err
		}
		si, err := s.slotRow(ctx, tx, slotID)
		if err != nil {
			return err
		}
		if e := s.checkSlot(c, si, p); e != nil {
			return e
		}
		won, err := claimSlot(ctx, tx, slotID)
		if err != nil {
			return err
		}
		if !won { // taken; by this very request, retried concurrently?
			if kept, err := liveAnswer(ctx, tx, key); err != nil || kept != nil {
				rec = kept
				return err
			}
			return &errAnswer{addError(msgTaken)}
		}
		patient, created, err := s.patientFor(ctx, tx, p)
		if err != nil {
			return err
		}
		if err := s.setSlotStatus(ctx, tx, slotID, "busy"); err != nil {
			return err
		}
		appID := newID()
		if err := s.put(ctx, tx, "Appointment", appID, appointmentFor(appID, patient, si, p)); err != nil {
			return err
		}
		rec = ws.Record{"ADD_RESULT": "OK", "APP_LID": appID, "USER_LID": patient}
		body, _ := json.Marshal(rec)
		if _, err := tx.SQL().ExecContext(ctx, tx.Rebind(`INSERT INTO booking_requests (k, record, created_us) VALUES (?, ?, ?)`),
			key, string(body), s.now().UnixMicro()); err != nil {
			return store.Classify("booking: keeping the answer", err)
		}
		wb := writeBack{Appointment: appID, Slots: []string{slotID}}
		if created {
			wb.Patient = patient
		}
		return enqueue(ctx, tx, "book", wb)
	})
	var ea *errAnswer
	if errors.As(err, &ea) {
		return ea.rec, nil
	}
	if err != nil {
		return nil, err
	}
	if rec["ADD_RESULT"] == "OK" {
		s.log.Info("tuotempo booking", "center", center, "appointment", rec["APP_LID"], "slot", slotID)
	}
	return rec, nil
}

// patientFor finds or creates the patient of an addAppointment call; created
// reports a new Patient.
func (s *Service) patientFor(ctx context.Context, tx *store.Tx, p map[string]string) (id string, created bool, err error) {
	if lid := p["USER_LID"]; lid != "" && s.cfg.UserPattern == PatternLID {
		if v, err := load(ctx, tx, "Patient", lid); err != nil || v != nil {
			return lid, false, err
		}
	}
	type ident struct{ system, value string }
	var ids []ident
	if t := strings.TrimSpace(p["USER_TID"]); t != "" {
		ids = append(ids, ident{UserTIDSystem, t})
	}
	if n := strings.TrimSpace(p["USER_ID_NUMBER"]); n != "" && s.cfg.IDNumberSystem != "" {
		ids = append(ids, ident{s.cfg.IDNumberSystem, n})
	}
	for _, i := range ids {
		found, err := tx.FindByIdentifier(ctx, "Patient", i.system, i.value)
		if err == nil {
			if v, err := load(ctx, tx, "Patient", found); err != nil || v != nil {
				return found, false, err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", false, fmt.Errorf("booking: matching the patient: %w", err)
		}
	}
	if len(ids) == 0 && p["USER_LID"] == "" && p["USER_FIRST_NAME"] == "" && p["USER_SECOND_NAME"] == "" {
		return "", false, &errAnswer{addError(msgUserMissing)}
	}
	rec := fhir.NewObject()
	for k, v := range p {
		if strings.HasPrefix(k, "USER_") {
			rec.Set(k, fhir.NewString(v))
		}
	}
	pat, err := s.patient.Reverse(rec)
	if err != nil {
		return "", false, &errAnswer{addError("the patient's data is not valid: " + fieldOf(err))}
	}
	id = newID()
	for _, i := range ids {
		winner, err := tx.ClaimIdentifier(ctx, "Patient", i.system, i.value, id)
		if err != nil {
			return "", false, fmt.Errorf("booking: claiming the patient's identifier: %w", err)
		}
		if winner != id {
			return winner, false, nil
		}
	}
	pat = with(pat, "id", fhir.NewString(id))
	if err := s.put(ctx, tx, "Patient", id, pat); err != nil {
		return "", false, err
	}
	return id, true, nil
}

// fieldOf names the field of a mapping error (never a value).
func fieldOf(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "field "); i >= 0 {
		f := msg[i+len("field "):]
		if j := strings.IndexAny(f, " :"); j >= 0 {
			f = f[:j]
		}
		return f
	}
	return "refused"
}

// appointmentOf loads Appointment appLID of center c in tx: nil when it
// does not exist or belongs to another center.
func (s *Service) appointmentOf(ctx context.Context, tx *store.Tx, c *ws.Center, appLID string) (*fhir.Value, error) {
	a, err := load(ctx, tx, "Appointment", appLID)
	if err != nil || a == nil {
		return nil, err
	}
	if !s.apptInCenter(ctx, tx.SQL().QueryRowContext, tx.Rebind, c, appLID) {
		return nil, nil
	}
	return a, nil
}

// Move moves Appointment appLID of center to the free Slot p names
// (ws.Booker), freeing its old Slot; the Appointment keeps its id.
func (s *Service) Move(ctx context.Context, center, appLID string, p map[string]string) (ws.Record, error) {
	c, err := s.centerOf(center)
	if err != nil {
		return nil, err
	}
	slotID := p["AVAILABILITY_LID"]
	if slotID == "" {
		if slotID, err = s.findSlotAt(ctx, center, p); err != nil {
			return nil, err
		}
		if slotID == "" {
			return addError(msgNoSlot), nil
		}
	}
	var rec ws.Record
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		a, err := s.appointmentOf(ctx, tx, c, appLID)
		if err != nil {
			return err
		}
		if a == nil || a.GetString("status") == "cancelled" {
			return &errAnswer{addError(msgNoApp)}
		}
		old := refsOf(a, "slot", "", "Slot")
		if len(old) == 1 && old[0] == slotID {
			rec = ws.Record{"ADD_RESULT": "OK", "APP_LID": appLID, "USER_LID": firstOr(refsOf(a, "participant", "actor", "Patient"))}
			return nil
		}
		si, err := s.slotRow(ctx, tx, slotID)
		if err != nil {
			return err
		}
		activity := firstOr(refsOf(a, "participant", "actor", "HealthcareService"))
		q := map[string]string{"APP_DATE": p["APP_DATE"], "APP_START_TIME": p["APP_START_TIME"], "RESOURCE_LID": p["RESOURCE_LID"], "ACTIVITY_LID": activity}
		if e := s.checkSlot(c, si, q); e != nil {
			return e
		}
		won, err := claimSlot(ctx, tx, slotID)
		if err != nil {
			return err
		}
		if !won {
			return &errAnswer{addError(msgTaken)}
		}
		if err := s.setSlotStatus(ctx, tx, slotID, "busy"); err != nil {
			return err
		}
		for _, o := range old {
			if err := s.setSlotStatus(ctx, tx, o, "free"); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		patient := firstOr(refsOf(a, "participant", "actor", "Patient"))
		moved := with(a, "meta", nil)
		setSlot(moved, si, activity, patient)
		if err := s.put(ctx, tx, "Appointment", appLID, moved); err != nil {
			return err
		}
		rec = ws.Record{"ADD_RESULT": "OK", "APP_LID": appLID, "USER_LID": patient}
		return enqueue(ctx, tx, "move", writeBack{Appointment: appLID, Slots: append([]string{slotID}, old...)})
	})
	var ea *errAnswer
	if errors.As(err, &ea) {
		return ea.rec, nil
	}
	if err != nil {
		return nil, err
	}
	s.log.Info("tuotempo booking moved", "center", center, "appointment", appLID, "slot", slotID)
	return rec, nil
}

func firstOr(ids []string) string {
	if len(ids) > 0 {
		return ids[0]
	}
	return ""
}

// Cancel cancels Appointment appLID of center and frees its Slot
// (ws.Booker). Cancelling a cancelled appointment answers OK.
func (s *Service) Cancel(ctx context.Context, center, appLID string, byPatient bool) (ws.Record, error) {
	c, err := s.centerOf(center)
	if err != nil {
		return nil, err
	}
	fail := func(msg string) ws.Record {
		return ws.Record{"DELETE_RESULT": "ERROR", "ERROR_MESSAGE": msg}
	}
	var rec ws.Record
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		a, err := s.appointmentOf(ctx, tx, c, appLID)
		if err != nil {
			return err
		}
		if a == nil {
			rec = fail(msgNoApp)
			return nil
		}
		rec = ws.Record{"DELETE_RESULT": "OK", "APP_LID": appLID}
		if a.GetString("status") == "cancelled" {
			return nil
		}
		code, display := "prov", "Provider"
		if byPatient {
			code, display = "pat", "Patient"
		}
		coding := fhir.NewObject()
		coding.Set("system", fhir.NewString("http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"))
		coding.Set("code", fhir.NewString(code))
		coding.Set("display", fhir.NewString(display))
		reason := fhir.NewObject()
		reason.Set("coding", fhir.NewArray(coding))
		cancelled := with(with(with(a, "meta", nil), "status", fhir.NewString("cancelled")), "cancelationReason", reason)
		if err := s.put(ctx, tx, "Appointment", appLID, cancelled); err != nil {
			return err
		}
		slots := refsOf(a, "slot", "", "Slot")
		for _, sl := range slots {
			if err := s.setSlotStatus(ctx, tx, sl, "free"); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return enqueue(ctx, tx, "cancel", writeBack{Appointment: appLID, Slots: slots})
	})
	if err != nil {
		return nil, err
	}
	if rec["DELETE_RESULT"] == "OK" {
		s.log.Info("tuotempo booking cancelled", "center", center, "appointment", appLID)
	}
	return rec, nil
}
