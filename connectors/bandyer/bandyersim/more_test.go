package bandyersim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentCreatesGetDistinctRooms(t *testing.T) {
	f := newFixture(t, Options{})
	const n = 20
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", f.srv.URL+"/teleconsultation", strings.NewReader(twoFull))
			req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
			resp, err := f.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out struct{ RoomID string }
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 201 {
				t.Errorf("POST: %d %v", resp.StatusCode, err)
			}
			ids[i] = out.RoomID
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seen := map[string]bool{}
	bandyer := map[string]bool{}
	for _, id := range ids {
		r := f.room(t, id)
		if seen[id] || bandyer[r.BandyerRoomID] {
			t.Fatalf("room %s or its Bandyer room given twice", id)
		}
		seen[id], bandyer[r.BandyerRoomID] = true, true
	}
	if len(f.sim.Rooms()) != n {
		t.Fatalf("%d rooms", len(f.sim.Rooms()))
	}
}

func TestAuth0ParticipantFromTheDirectory(t *testing.T) {
	users := map[string]Auth0User{"auth0|doc": {Groups: []string{"doctor"}, FullName: "Dr Who"}}
	cases := []struct {
		name, body string
		want       int
	}{
		{name: "directory doctor completes the room", body: `{"userExternalId":"auth0|doc","language":"it"}`, want: 201},
		{name: "unknown auth0 user is no plus user", body: `{"userExternalId":"auth0|x","language":"it"}`, want: 400},
		{name: "groups sent override the directory", body: `{"userExternalId":"auth0|x","groups":["doctor"],"fullName":"X"}`, want: 201},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{Auth0: true, Auth0Users: users})
			id := f.create(t, `{"participants":{"number":2,"data":[{"userExternalId":"auth0|pat","language":"it"}]},`+dates+`}`)
			a := f.do(t, "POST", "/teleconsultation/"+id+"/participants/data", c.body)
			if a.status != c.want {
				t.Fatalf("%d %s", a.status, a.body)
			}
			r := f.room(t, id)
			if c.want == 400 && a.body != specBody(MsgNoPlusData(id)) {
				t.Fatalf("body %s", a.body)
			}
			if c.want == 201 && (r.BandyerRoomID == "" || r.Participants[1].FullName == "") {
				t.Fatalf("room %+v", r)
			}
		})
	}
}

// TestSpecWords pins the error texts to the spec's words, so a change of
// a constant cannot pass the tests that compare against it.
func TestSpecWords(t *testing.T) {
	for got, want := range map[string]string{
		MsgUnauthorizedUser:       "Unauthorized user",
		MsgNoPlusPost:             "Failed POST /teleconsultation: no plus user in room",
		MsgNoPlusPatch:            "Failed PATCH /teleconsultation: no plus user in room",
		MsgNoPlusData("room_xyz"): "Failed POST /teleconsultation/room_xyz/participants/data: no plus user in room",
		MsgNotFound("room_xyz"):   "Room with id room_xyz not found on CRUD",
	} {
		if got != want {
			t.Errorf("%q, the spec says %q", got, want)
		}
	}
}
