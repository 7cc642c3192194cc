package solo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
)

func TestWaitingRoomsAndSlots(t *testing.T) {
	e := newEnv(t, solosim.Options{}, 5*time.Second)
	ctx := context.Background()
	rooms, err := e.c.WaitingRooms(ctx)
	if err != nil || len(rooms) != len(solosim.DefaultWaitingRooms()) || rooms[0].ID != "room-1" || rooms[1].Name != "Default Waiting Room Name 2" {
		t.Fatalf("rooms %+v %v", rooms, err)
	}
	at := func(u int64) time.Time { return time.Unix(u, 0) }
	tests := []struct {
		name      string
		q         SlotQuery
		wantN     int
		wantClass connectors.Class
		wantErr   error
	}{
		{"spec example", SlotQuery{After: at(1505053200), Before: at(1505057400), WaitingRoom: "Default Waiting Room Name 1"}, 4, 0, nil},
		{"duration", SlotQuery{After: at(1505053200), Before: at(1505057400), WaitingRoom: "Default Waiting Room Name 1", Duration: 30 * time.Minute}, 2, 0, nil},
		{"unknown room", SlotQuery{After: at(1), Before: at(2), WaitingRoom: "Nowhere"}, 0, connectors.Permanent, nil},
		{"no room", SlotQuery{After: at(1), Before: at(2)}, 0, connectors.Permanent, ErrSlotQuery},
		{"reversed", SlotQuery{After: at(2), Before: at(1), WaitingRoom: "x"}, 0, connectors.Permanent, ErrSlotQuery},
		{"duration too long", SlotQuery{After: at(1), Before: at(2), WaitingRoom: "x", Duration: 25 * time.Hour}, 0, connectors.Permanent, ErrSlotQuery},
	}
	for _, tt := range tests {
		n := len(e.sim.Requests())
		slots, err := e.c.AppointmentSlots(ctx, tt.q)
		if tt.wantClass == 0 {
			if err != nil || len(slots) != tt.wantN {
				t.Errorf("%s: %d slots, %v", tt.name, len(slots), err)
			} else if slots[0].Start.Unix() != 1505053800 || slots[0].Duration != slotDur(tt.q) {
				t.Errorf("%s: first slot %+v", tt.name, slots[0])
			}
			continue
		}
		if c, _ := connectors.Classify(err); err == nil || c != tt.wantClass {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.wantErr != nil && (!errors.Is(err, tt.wantErr) || len(e.sim.Requests()) != n) {
			t.Errorf("%s: %v after %d calls, want %v before calling", tt.name, err, len(e.sim.Requests())-n, tt.wantErr)
		}
	}
}

// slotDur is the duration a query's slots should have in the sim.
func slotDur(q SlotQuery) time.Duration {
	if q.Duration != 0 {
		return q.Duration
	}
	return solosim.DefaultSlotDuration
}

func TestRoomCache(t *testing.T) {
	clock := time.Unix(1000, 0)
	calls := 0
	var fail error
	rc := NewRoomCache(func(context.Context) ([]WaitingRoom, error) {
		calls++
		if fail != nil {
			return nil, fail
		}
		return []WaitingRoom{{ID: "r1", Name: "One"}}, nil
	}, time.Minute, func() time.Time { return clock })
	ctx := context.Background()
	steps := []struct {
		advance   time.Duration
		fail      error
		wantCalls int
		wantErr   bool
	}{
		{0, nil, 1, false},
		{59 * time.Second, nil, 1, false},          // within the TTL
		{time.Second, nil, 2, false},               // expired: refreshed
		{time.Minute, errors.New("down"), 3, true}, // refresh fails: no stale list
		{0, nil, 4, false},                         // and the next call retries
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		fail = s.fail
		r, ok, err := rc.ByID(ctx, "r1")
		if calls != s.wantCalls || (err != nil) != s.wantErr || !s.wantErr && (!ok || r.Name != "One") {
			t.Errorf("step %d: %d calls, %+v %v %v", i, calls, r, ok, err)
		}
	}
	if _, ok, _ := rc.ByName(ctx, "Two"); ok {
		t.Errorf("found a room that does not exist")
	}
}
