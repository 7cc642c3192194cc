package ttsim

import (
	"context"
	"errors"
	"fmt"
)

// reminders plays guide A.4: book again, SearchAppointments (Confirmed),
// CancelAppointment as the patient's answer to a reminder,
// SearchAppointments (Cancelled).
func (r *run) reminders(ctx context.Context, avs []availability) error {
	b, _, err := r.book(ctx, avs, "reminders: ")
	if err != nil {
		return err
	}
	r.rep.Reminded = b.app
	if err := r.searchAppointments(ctx, b, "Confirmed"); err != nil {
		return err
	}
	const op = "CancelAppointment"
	recs, err := r.call(ctx, op, map[string]string{"APP_LID": b.app, "USER_LID": r.rep.UserLID})
	if err != nil {
		return err
	}
	rec, err := one(recs)
	if err != nil {
		return r.fail(op, err)
	}
	if rec["RESULT"] != "OK" {
		return r.fail(op, fmt.Errorf("RESULT is %q, want OK", safe("RESULT", rec["RESULT"])))
	}
	if d := rec["DELETE_RESULT"]; d != "" && d != "OK" {
		return r.fail(op, fmt.Errorf("RESULT OK with DELETE_RESULT %q", safe("DELETE_RESULT", d)))
	}
	if a := rec["APP_LID"]; a != "" && a != b.app {
		return r.fail(op, fmt.Errorf("APP_LID %s, cancelled %s", a, b.app))
	}
	r.line(op, fmt.Sprintf("OK APP_LID %s", b.app))
	return r.searchAppointments(ctx, b, "Cancelled")
}

// searchAppointments asks A.4's SearchAppointments for the patient's
// appointments on b's day and expects b with status want.
func (r *run) searchAppointments(ctx context.Context, b booking, want string) error {
	const op = "SearchAppointments"
	recs, err := r.call(ctx, op, map[string]string{"USER_LID": r.rep.UserLID, "START_DATE": b.av.date, "END_DATE": b.av.date})
	if err != nil {
		return err
	}
	var hit bool
	for i, rec := range recs {
		if err := checkAppointment(rec); err != nil {
			return r.fail(op, fmt.Errorf("appointment %d: %w", i, err))
		}
		if rec["USER_LID"] != r.rep.UserLID {
			return r.fail(op, fmt.Errorf("appointment %d is of USER_LID %s, searched %s", i, rec["USER_LID"], r.rep.UserLID))
		}
		if rec["APP_LID"] != b.app {
			continue
		}
		hit = true
		r.rep.Statuses[b.app] = append(r.rep.Statuses[b.app], rec["STATUS"])
		if rec["STATUS"] != want {
			return r.fail(op, fmt.Errorf("APP_LID %s is %s, want %s", b.app, rec["STATUS"], want))
		}
		if rec["APP_DATE"] != b.av.date || rec["APP_START_TIME"] != b.av.start {
			return r.fail(op, errors.New("APP_DATE or APP_START_TIME is not the booked slot's"))
		}
	}
	if !hit {
		return r.fail(op, fmt.Errorf("APP_LID %s is not listed", b.app))
	}
	r.line(op, fmt.Sprintf("OK %d appointments; %s %s", len(recs), b.app, want))
	return nil
}
