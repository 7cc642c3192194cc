package solosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAppointmentSlots(t *testing.T) {
	sim := New(Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.SetSlotDuration("Default Waiting Room Name 2", 30*time.Minute)
	// an appointment in room 1 takes 1505055600 (and only that slot)
	sim.mu.Lock()
	sim.appts = append(sim.appts,
		&Appointment{SAID: 1, WaitingRoom: "Default Waiting Room Name 1", Date: 1505055600, Duration: 900, Status: "scheduled"},
		&Appointment{SAID: 2, WaitingRoom: "Default Waiting Room Name 1", Date: 1505054700, Duration: 900, Status: "cancelled"})
	sim.mu.Unlock()
	const room1, room2 = "waitingRoom=Default+Waiting+Room+Name+1", "waitingRoom=Default+Waiting+Room+Name+2"
	tests := []struct {
		name, query string
		key         string
		status      int
		want        string // JSON body, or a fragment of the error message
	}{
		{"spec example (one slot taken)", "after=1505053200&before=1505057400&" + room1, DefaultAPIKey, 200,
			`[{"date":1505053800,"duration":900},{"date":1505054700,"duration":900},{"date":1505056500,"duration":900}]`},
		{"room duration", "after=1505053200&before=1505057400&" + room2, DefaultAPIKey, 200,
			`[{"date":1505053800,"duration":1800},{"date":1505055600,"duration":1800}]`},
		{"duration parameter", "after=1505053200&before=1505055000&duration=600&" + room2, DefaultAPIKey, 200,
			`[{"date":1505053200,"duration":600},{"date":1505053800,"duration":600},{"date":1505054400,"duration":600}]`},
		{"nothing fits", "after=1505053200&before=1505053300&" + room1, DefaultAPIKey, 200, `[]`},
		{"no key", "after=1&before=2&" + room1, "", 401, ""},
		{"after missing", "before=2&" + room1, DefaultAPIKey, 400, "after: This value should not be blank."},
		{"before not a timestamp", "after=1&before=soon&" + room1, DefaultAPIKey, 400, "before: This value should be a valid timestamp."},
		{"before not after after", "after=5&before=5&" + room1, DefaultAPIKey, 400, "before: This value should be greater than after."},
		{"room missing", "after=1&before=2", DefaultAPIKey, 400, "waitingRoom: This value should not be blank."},
		{"unknown room", "after=1&before=2&waitingRoom=Nowhere", DefaultAPIKey, 422, "Waiting room not found"},
		{"duration zero", "after=1&before=2&duration=0&" + room1, DefaultAPIKey, 400, "duration: This value should be between 1 and 86400."},
		{"duration too long", "after=1&before=200000&duration=86401&" + room1, DefaultAPIKey, 400, "duration"},
		{"too many slots", "after=0&before=100000000&duration=1&" + room1, DefaultAPIKey, 400, "too many slots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/qapi/v1/appointment-slots?"+tt.query, nil)
			if tt.key != "" {
				req.Header.Set("Api-Key", tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status == 200 {
				var got, want any
				_ = json.Unmarshal(b, &got)
				_ = json.Unmarshal([]byte(tt.want), &want)
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				if string(gb) != string(wb) {
					t.Errorf("got %s\nwant %s", gb, wb)
				}
			} else if !strings.Contains(string(b), tt.want) {
				t.Errorf("body %s lacks %q", b, tt.want)
			}
		})
	}
}
