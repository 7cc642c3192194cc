package solosim

// GET /qapi/v1/appointment-slots{?after,before,waitingRoom,duration}
// (spec: "Appointment Slots"). Choices where the spec is silent:
//   - a room is open around the clock; its slots lie on a grid of its slot
//     duration counted from the Unix epoch (the spec's example: 900-second
//     slots at multiples of 900), each wholly inside [after, before];
//   - a slot overlapping a stored, not cancelled appointment of the room
//     is taken and not listed;
//   - a room's slot duration is 900 s unless SetSlotDuration changed it;
//   - errors: a missing or non-integer after/before, before not later than
//     after, a duration outside [1, 86400] or a range holding more than
//     MaxSlots slots answer 400 "Bad parameters [field: reason]"; a missing
//     waitingRoom 400, an unknown one 422 "Waiting room not found" (as for
//     appointments).

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// MaxSlots bounds the slots one search may cover.
const MaxSlots = 10000

// DefaultSlotDuration is a room's slot duration unless set.
const DefaultSlotDuration = 900 * time.Second

// slotState is the area state: slot durations by room name.
type slotState struct {
	durations map[string]time.Duration
}

func init() {
	registerArea(func(s *Sim) {
		s.mux.HandleFunc("GET /qapi/v1/appointment-slots", s.appointmentSlots)
	})
}

func (s *Sim) slots() *slotState {
	return s.area("slots", func() any { return &slotState{durations: map[string]time.Duration{}} }).(*slotState)
}

// SetSlotDuration sets the slot duration of the waiting room named room
// (whole seconds in [1s, 24h]).
func (s *Sim) SetSlotDuration(room string, d time.Duration) {
	st := s.slots()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.durations[room] = d
}

func (s *Sim) appointmentSlots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var bounds [2]int64
	for i, name := range []string{"after", "before"} {
		v := q.Get(name)
		if v == "" {
			badParams(w, name, "This value should not be blank.")
			return
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			badParams(w, name, "This value should be a valid timestamp.")
			return
		}
		bounds[i] = n
	}
	after, before := bounds[0], bounds[1]
	if before <= after {
		badParams(w, "before", "This value should be greater than after.")
		return
	}
	room := q.Get("waitingRoom")
	if room == "" {
		badParams(w, "waitingRoom", "This value should not be blank.")
		return
	}
	if !slices.Contains(s.opt.WaitingRooms, room) {
		writeError(w, http.StatusUnprocessableEntity, "Waiting room not found")
		return
	}
	st := s.slots()
	s.mu.Lock()
	defer s.mu.Unlock()
	dur := int64(DefaultSlotDuration / time.Second)
	if d, ok := st.durations[room]; ok {
		dur = int64(d / time.Second)
	}
	if v := q.Get("duration"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 86400 {
			badParams(w, "duration", "This value should be between 1 and 86400.")
			return
		}
		dur = n
	}
	if (before-after)/dur > MaxSlots {
		badParams(w, "before", "The range holds too many slots.")
		return
	}
	type slot struct {
		Date     int64 `json:"date"`
		Duration int64 `json:"duration"`
	}
	out := []slot{}
	for t := (after + dur - 1) / dur * dur; t+dur <= before; t += dur {
		if !s.taken(room, t, t+dur, dur) {
			out = append(out, slot{Date: t, Duration: dur})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// taken reports whether a stored, not cancelled appointment of room
// overlaps [from, to); s.mu is held.
func (s *Sim) taken(room string, from, to, roomDur int64) bool {
	for _, a := range s.appts {
		if a.WaitingRoom != room || a.Status == "cancelled" {
			continue
		}
		d := int64(a.Duration)
		if d <= 0 {
			d = roomDur
		}
		if a.Date < to && a.Date+d > from {
			return true
		}
	}
	return false
}
