package solostatus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// openStatuses are the Appointment statuses that may still change at Solo.
var openStatuses = []string{"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"}

// PollResult counts one poll.
type PollResult struct {
	Checked, Changed, Unknown, Failed int
}

// Poll syncs every stored Appointment that Solo knows (it has a SAID in
// the crosswalk), whose status is not final and whose start is no earlier
// than now − lookback (or that has no start).
func (s *Syncer) Poll(ctx context.Context, lookback time.Duration) (PollResult, error) {
	var res PollResult
	since := s.now().Add(-lookback)
	var ids []string
	// The store's status and start indexes select the candidates (open,
	// starting about since or later, or without a start); the body is
	// re-checked below.
	f := store.Filter{Statuses: openStatuses, StartFrom: since, NoStartToo: true}
	err := s.Store.CurrentWhere(ctx, "Appointment", f, func(id string, _ int, body []byte) error {
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil || !slices.Contains(openStatuses, v.GetString("status")) {
			return nil
		}
		if st := v.GetString("start"); st != "" {
			if t, err := time.Parse(time.RFC3339, st); err == nil && t.Before(since) {
				return nil
			}
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("polling solo appointments: %w", err)
	}
	for _, id := range ids {
		said, err := s.Store.VendorID(ctx, Vendor, "Appointment", id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("polling solo appointments: %w", err)
		}
		res.Checked++
		r, err := s.SyncAppointment(ctx, said)
		switch {
		case errors.Is(err, ErrUnknown):
			res.Unknown++
		case err != nil:
			res.Failed++
			s.log().Warn("solo status poll failed", "appointment", id, "error", err)
		case r.AppointmentChanged || r.EncounterChanged:
			res.Changed++
		}
	}
	return res, nil
}
