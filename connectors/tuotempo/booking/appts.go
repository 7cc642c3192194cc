package booking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/export"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// maxAppointments bounds the records of one getAppointments call.
const maxAppointments = 500

// apptInCenter reports whether the indexed Appointment id belongs to c (a
// Location of c among its own or its Slot's Schedule's).
func (s *Service) apptInCenter(ctx context.Context, row func(context.Context, string, ...any) *sql.Row, rebind func(string) string, c *ws.Center, id string) bool {
	if len(c.Locations) == 0 {
		return true
	}
	var locs string
	if err := row(ctx, rebind(`SELECT locs FROM booking_appointments WHERE id = ?`), id).Scan(&locs); err != nil {
		return false
	}
	return inCenter(c, locs)
}

// apptRecord maps a stored Appointment for center c's zone.
func (s *Service) apptRecord(ctx context.Context, c *ws.Center, res *fhir.Value, r fhir.Resolver) (ws.Record, error) {
	m, err := s.mapping("tuotempo/appointment", s.zoneName(c.LID))
	if err != nil {
		return nil, err
	}
	rec, err := m.Apply(res, r)
	if err != nil {
		return nil, fmt.Errorf("mapping Appointment/%s: %w", res.GetString("id"), err)
	}
	return toRecord(rec), nil
}

// only keeps the fields of out.
func only(rec ws.Record, out []ws.Field) ws.Record {
	r := ws.Record{}
	for _, f := range out {
		if v, ok := rec[f.Name]; ok {
			r[f.Name] = v
		}
	}
	return r
}

// check answers checkAppointment.
func (s *Service) check(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	c, err := s.centerOf(req.Center)
	if err != nil {
		return nil, err
	}
	id := req.Get("APP_LID")
	body, _, err := s.st.GetResource(ctx, "Appointment", id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.apptInCenter(ctx, s.st.DB().QueryRowContext, s.st.Rebind, c, id)) {
		return nil, ws.Errorf(ws.NotFound, "APP_LID", "no such appointment")
	}
	if err != nil {
		return nil, fmt.Errorf("checkAppointment: %w", err)
	}
	a, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("checkAppointment: decoding Appointment/%s: %w", id, err)
	}
	rec, err := s.apptRecord(ctx, c, a, export.NewStoreResolver(ctx, s.st))
	if err != nil {
		return nil, fmt.Errorf("checkAppointment: %w", err)
	}
	return []ws.Record{rec}, nil
}

// list answers getAppointments and SearchAppointments.
func (s *Service) list(ctx context.Context, req *ws.Request) ([]ws.Record, error) {
	c, err := s.centerOf(req.Center)
	if err != nil {
		return nil, err
	}
	loc := s.zone(c.LID)
	patient := req.Get("USER_LID")
	if tid := req.Get("USER_TID"); patient == "" && tid != "" {
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			id, err := tx.FindByIdentifier(ctx, "Patient", UserTIDSystem, tid)
			patient = id
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("getAppointments: finding the patient: %w", err)
		}
		if patient == "" {
			return []ws.Record{}, nil
		}
	}
	if patient == "" {
		return nil, ws.Errorf(ws.BadRequest, "USER_LID", "USER_LID or USER_TID is required")
	}
	where := []string{"patient = ?"}
	args := []any{patient}
	for _, f := range []struct {
		name, cmp string
		plus      int
	}{{"START_DATE", "start_s >= ?", 0}, {"END_DATE", "start_s < ?", 1}} {
		if v := req.Get(f.name); v != "" {
			d, ok := parseDay(v, loc)
			if !ok {
				return nil, ws.Errorf(ws.BadRequest, f.name, "want dd/mm/yyyy")
			}
			where = append(where, f.cmp)
			args = append(args, d.AddDate(0, 0, f.plus).Unix())
		}
	}
	if r := req.Get("RESOURCE_LID"); r != "" {
		where = append(where, "practitioner = ?")
		args = append(args, r)
	}
	if v := req.Get("LAST_REQUEST_TIMESTAMP"); v != "" {
		t, ok := parseStamp(v, loc)
		if !ok {
			return nil, ws.Errorf(ws.BadRequest, "LAST_REQUEST_TIMESTAMP", "want yyyy-mm-dd HH:mm(:ss), yyyy-mm-ddTHH:mm:ss, dd/mm/yyyy HH:mm(:ss) or an RFC 3339 instant")
		}
		where = append(where, "updated_us > ?")
		args = append(args, t.UnixMicro())
	}
	rows, err := s.st.DB().QueryContext(ctx, s.st.Rebind(`SELECT id, locs FROM booking_appointments WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(" ORDER BY start_s, id LIMIT %d", maxAppointments)), args...)
	if err != nil {
		return nil, store.Classify("listing appointments", err)
	}
	var ids []string
	for rows.Next() {
		var id, locs string
		if err := rows.Scan(&id, &locs); err != nil {
			rows.Close()
			return nil, store.Classify("listing appointments", err)
		}
		if inCenter(c, locs) {
			ids = append(ids, id)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, store.Classify("listing appointments", err)
	}
	r := export.NewStoreResolver(ctx, s.st)
	out := make([]ws.Record, 0, len(ids))
	for _, id := range ids {
		body, _, err := s.st.GetResource(ctx, "Appointment", id)
		if err != nil {
			return nil, fmt.Errorf("listing appointments: %w", err)
		}
		a, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing appointments: decoding Appointment/%s: %w", id, err)
		}
		rec, err := s.apptRecord(ctx, c, a, r)
		if err != nil {
			s.log.Warn("tuotempo appointment not mapped", "appointment", id, "err", err)
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}
