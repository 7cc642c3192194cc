package solomod

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// TestSlotSearchSchedulesMap covers the configured schedule map and the
// duration choice without a server.
func TestSlotSearchSchedulesMap(t *testing.T) {
	var asked []solo.SlotQuery
	rooms := solo.NewRoomCache(func(context.Context) ([]solo.WaitingRoom, error) {
		return []solo.WaitingRoom{{ID: "u-1", Name: "General Practice"}}, nil
	}, 0, nil)
	nine := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	ss := &slotSearch{
		cfg:   Slots{MaxWindow: connectors.Duration(24 * time.Hour), Duration: connectors.Duration(30 * time.Minute), Schedules: map[string]string{"gp": "General Practice", "gone": "Old Room"}},
		rooms: rooms,
		slots: func(_ context.Context, q solo.SlotQuery) ([]solo.Slot, error) {
			asked = append(asked, q)
			return []solo.Slot{{Start: nine, Duration: 30 * time.Minute}, {Start: nine.Add(time.Hour), Duration: 30 * time.Minute}}, nil
		},
		log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	tests := []struct {
		schedule string
		wantN    int
		wantAsk  bool
	}{
		{"Schedule/gp", 1, true},
		{"Schedule/u-1", 0, false}, // room ids are not schedules when the map is set
		{"Schedule/gone", 0, false},
	}
	for _, tt := range tests {
		asked = nil
		got, err := ss.search(context.Background(), url.Values{"schedule": {tt.schedule}, "start": {"ge2024-05-01T09:00:00Z", "lt2024-05-01T10:00:00Z"}})
		if err != nil || len(got) != tt.wantN || (len(asked) == 1) != tt.wantAsk {
			t.Errorf("%s: %d slots, %d calls, %v", tt.schedule, len(got), len(asked), err)
			continue
		}
		if tt.wantAsk {
			q := asked[0]
			if q.WaitingRoom != "General Practice" || q.Duration != 30*time.Minute || !q.After.Equal(nine) || !q.Before.Equal(nine.Add(90*time.Minute)) {
				t.Errorf("asked Solo %+v", q)
			}
			if id := got[0].GetString("id"); id != "1714554000-1800-gp" {
				t.Errorf("slot id %s", id)
			}
		}
	}
}
