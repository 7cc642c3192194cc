package solo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// SlotQuery asks GET /qapi/v1/appointment-slots for the free slots of one
// waiting room between After and Before.
type SlotQuery struct {
	// After and Before bound the search (sent as Unix seconds).
	After, Before time.Time
	// WaitingRoom is the room's name (Solo's parameter is the name).
	WaitingRoom string
	// Duration of the slots, whole seconds in [1s, 24h]; 0 lets Solo use
	// the waiting room's slot duration.
	Duration time.Duration
}

// Slot is one free appointment slot.
type Slot struct {
	Start    time.Time
	Duration time.Duration
}

// ErrSlotQuery: a SlotQuery the spec does not allow (Permanent).
var ErrSlotQuery = errors.New("invalid appointment-slots query")

// AppointmentSlots finds the free slots of q (GET
// /qapi/v1/appointment-slots{?after,before,waitingRoom,duration}).
// Errors are classified as for deliveries; a query outside the spec's
// ranges wraps ErrSlotQuery without calling Solo.
func (c *Connector) AppointmentSlots(ctx context.Context, q SlotQuery) ([]Slot, error) {
	switch {
	case q.WaitingRoom == "" || q.After.IsZero() || q.Before.IsZero():
		return nil, connectors.Permanently(fmt.Errorf("after, before and waitingRoom are required: %w", ErrSlotQuery))
	case !q.Before.After(q.After):
		return nil, connectors.Permanently(fmt.Errorf("before must be later than after: %w", ErrSlotQuery))
	case q.Duration != 0 && (q.Duration < time.Second || q.Duration > 24*time.Hour || q.Duration%time.Second != 0):
		return nil, connectors.Permanently(fmt.Errorf("duration must be whole seconds in [1, 86400]: %w", ErrSlotQuery))
	}
	v := url.Values{}
	v.Set("after", strconv.FormatInt(q.After.Unix(), 10))
	v.Set("before", strconv.FormatInt(q.Before.Unix(), 10))
	v.Set("waitingRoom", q.WaitingRoom)
	if q.Duration != 0 {
		v.Set("duration", strconv.FormatInt(int64(q.Duration/time.Second), 10))
	}
	path := connectors.PathOf("/qapi/v1/appointment-slots")
	data, err := c.getQuery(ctx, path, v)
	if err != nil {
		return nil, fmt.Errorf("finding appointment slots: %w", err)
	}
	var raw []struct {
		Date     int64 `json:"date"`
		Duration int64 `json:"duration"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, connectors.Permanently(fmt.Errorf("finding appointment slots: the answer is not a list of slots: %w", err))
	}
	out := make([]Slot, 0, len(raw))
	for i, s := range raw {
		if s.Date <= 0 || s.Duration < 1 || s.Duration > 86400 {
			return nil, connectors.Permanently(fmt.Errorf("finding appointment slots: slot %d has no date or a duration outside [1, 86400]", i))
		}
		out = append(out, Slot{Start: time.Unix(s.Date, 0).UTC(), Duration: time.Duration(s.Duration) * time.Second})
	}
	return out, nil
}

// getQuery is call for a GET with a query string (call appends to the
// URL's path only). Errors name the path, never the query.
func (c *Connector) getQuery(ctx context.Context, path connectors.Path, q url.Values) ([]byte, error) {
	u, err := path.URL(c.base)
	if err != nil {
		return nil, connectors.Permanently(fmt.Errorf("building GET %s: %w", path, err))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, connectors.Permanently(fmt.Errorf("building GET %s: %w", path, err))
	}
	req.Header.Set("Api-Key", c.key.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL; keep the cause only
		}
		return nil, connectors.Transiently(fmt.Errorf("sending GET %s: %w", path, err), 0)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, connectors.Transiently(fmt.Errorf("reading answer to GET %s: %w", path, err), 0)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, classify(http.MethodGet, path.String(), resp, data, []byte(q.Encode()))
	}
	return data, nil
}
