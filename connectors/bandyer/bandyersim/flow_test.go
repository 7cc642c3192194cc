package bandyersim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const threePending = `{"participants":{"number":3,"data":[` + doc + `,` + pat + `]},` + dates + `}`

func TestPendingRoomIsCreatedWithTheLastParticipant(t *testing.T) {
	f := newFixture(t, Options{})
	id := f.create(t, threePending)
	if r := f.room(t, id); r.BandyerRoomID != "" {
		t.Fatalf("a room with a participant missing has a Bandyer room: %+v", r)
	}
	if a := f.do(t, "GET", "/teleconsultation/"+id, "", DefaultUserHeader, "doc1"); a.status != 409 {
		t.Fatalf("GET of a pending room: %d %s", a.status, a.body)
	}
	a := f.do(t, "POST", "/teleconsultation/"+id+"/participants/data", pat2)
	if a.status != 201 || a.body != "" {
		t.Fatalf("participants/data: %d %q", a.status, a.body)
	}
	r := f.room(t, id)
	if r.BandyerRoomID == "" || len(r.Participants) != 3 || r.Participants[2].UserExternalID != "pat2" {
		t.Fatalf("after the last participant: %+v", r)
	}
	// Room complete: one more is refused.
	a = f.do(t, "POST", "/teleconsultation/"+id+"/participants/data", `{"userExternalId":"x","groups":["doctor"],"fullName":"X"}`)
	if a.status != 400 || a.body != crudBody(400, "participants/data already holds participants/number participants") {
		t.Fatalf("a fourth participant: %d %s", a.status, a.body)
	}
}

func TestAddParticipantRules(t *testing.T) {
	noDoc := `{"participants":{"number":2,"data":[` + pat + `]},` + dates + `}`
	cases := []struct {
		name, create, body string
		room               string // "" the created one
		want               int
		wantBody           string
	}{
		{name: "last without plus user", create: noDoc, body: pat2, want: 400, wantBody: specBody(MsgNoPlusData("ID"))},
		{name: "last with plus user", create: noDoc, body: doc, want: 201},
		{name: "not last, no plus yet", create: `{"participants":{"number":3,"data":[` + pat + `]},` + dates + `}`, body: pat2, want: 201},
		{name: "already a participant", create: noDoc, body: pat, want: 400, wantBody: crudBody(400, "body/userExternalId is already a participant")},
		{name: "invalid data", create: noDoc, body: `{"userExternalId":"doc1"}`, want: 400, wantBody: crudBody(400, "body must have required property 'groups'")},
		{name: "unknown room", create: noDoc, body: doc, room: "nope", want: 404, wantBody: specBody(MsgNotFound("nope"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			id := f.create(t, c.create)
			target := id
			if c.room != "" {
				target = c.room
			}
			before := f.room(t, id)
			a := f.do(t, "POST", "/teleconsultation/"+target+"/participants/data", c.body)
			want := strings.ReplaceAll(c.wantBody, "ID", id)
			if a.status != c.want || (want != "" && a.body != want) {
				t.Fatalf("%d %s, want %d %s", a.status, a.body, c.want, want)
			}
			after := f.room(t, id)
			if c.want != 201 && len(after.Participants) != len(before.Participants) {
				t.Fatalf("a refused add changed the room: %+v", after)
			}
		})
	}
}

func TestPatchReplacesTheRoom(t *testing.T) {
	f := newFixture(t, Options{})
	id := f.create(t, twoFull)
	first := f.room(t, id)
	moved := `{"start_date":"2026-03-02T17:00:00.000Z","end_date":"2026-03-02T18:00:00.000Z"}`
	if a := f.do(t, "PATCH", "/teleconsultation/"+id, moved); a.status != 204 || a.body != "" {
		t.Fatalf("PATCH: %d %q", a.status, a.body)
	}
	r := f.room(t, id)
	if r.ID != id || r.BandyerRoomID == "" || r.BandyerRoomID == first.BandyerRoomID ||
		len(r.PastBandyerRoomIDs) != 1 || r.PastBandyerRoomIDs[0] != first.BandyerRoomID {
		t.Fatalf("after PATCH %+v (before %+v)", r, first)
	}
	if !r.Start.Equal(time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("start %v", r.Start)
	}
	if r.Participants[0].BandyerUserID != first.Participants[0].BandyerUserID || r.Participants[0].AccessLinkURL == first.Participants[0].AccessLinkURL {
		t.Errorf("a replaced room keeps the Bandyer user and gives a new link: %+v / %+v", r.Participants[0], first.Participants[0])
	}
	// The same PATCH again changes nothing: no new room.
	if a := f.do(t, "PATCH", "/teleconsultation/"+id, moved); a.status != 204 {
		t.Fatalf("PATCH again: %d %s", a.status, a.body)
	}
	if again := f.room(t, id); again.BandyerRoomID != r.BandyerRoomID {
		t.Fatalf("an unchanged PATCH replaced the room: %s → %s", r.BandyerRoomID, again.BandyerRoomID)
	}
	// Growing the participants makes the room pending again.
	if a := f.do(t, "PATCH", "/teleconsultation/"+id, `{"participants":{"number":3,"data":[`+doc+`,`+pat+`]}}`); a.status != 204 {
		t.Fatalf("PATCH participants: %d %s", a.status, a.body)
	}
	if p := f.room(t, id); p.BandyerRoomID != "" || p.Number != 3 || len(p.PastBandyerRoomIDs) != 2 {
		t.Fatalf("after growing: %+v", p)
	}
}

func TestPatchRules(t *testing.T) {
	cases := []struct {
		name, body string
		room       string
		want       int
		wantBody   string
	}{
		{name: "no plus user", body: `{"participants":{"number":2,"data":[` + pat + `,` + pat2 + `]}}`, want: 400, wantBody: specBody(MsgNoPlusPatch)},
		{name: "pending without plus is taken", body: `{"participants":{"number":3,"data":[` + pat + `,` + pat2 + `]}}`, want: 204},
		{name: "end before the kept start", body: `{"end_date":"2026-03-02T15:00:00.000Z"}`, want: 400, wantBody: crudBody(400, "body/end_date must not be before body/start_date")},
		{name: "bad date", body: `{"start_date":"2026-03-02"}`, want: 400, wantBody: crudBody(400, "body/start_date must match format YYYY-MM-DDTHH:mm:ss.sssZ")},
		{name: "unknown room", room: "abc", body: `{}`, want: 404, wantBody: specBody(MsgNotFound("abc"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			id := f.create(t, twoFull)
			before := f.room(t, id)
			target := id
			if c.room != "" {
				target = c.room
			}
			a := f.do(t, "PATCH", "/teleconsultation/"+target, c.body)
			if a.status != c.want || (c.wantBody != "" && a.body != c.wantBody) {
				t.Fatalf("%d %s, want %d %s", a.status, a.body, c.want, c.wantBody)
			}
			if after := f.room(t, id); c.want != 204 && after.BandyerRoomID != before.BandyerRoomID {
				t.Fatalf("a refused PATCH changed the room")
			}
		})
	}
}

func TestDeleteTrashes(t *testing.T) {
	f := newFixture(t, Options{})
	id := f.create(t, twoFull)
	bandyer := f.room(t, id).BandyerRoomID
	if a := f.do(t, "DELETE", "/teleconsultation/"+id, ""); a.status != 204 || a.body != "" {
		t.Fatalf("DELETE: %d %q", a.status, a.body)
	}
	r := f.room(t, id)
	if r.State != StateTrash || r.BandyerRoomID != "" || len(r.PastBandyerRoomIDs) != 1 || r.PastBandyerRoomIDs[0] != bandyer {
		t.Fatalf("after DELETE: %+v", r)
	}
	for _, m := range []string{"GET", "DELETE", "PATCH"} {
		if a := f.do(t, m, "/teleconsultation/"+id, `{}`, DefaultUserHeader, "doc1"); a.status != 404 || a.body != specBody(MsgNotFound(id)) {
			t.Errorf("%s of a trashed room: %d %s", m, a.status, a.body)
		}
	}
}

func TestImmutablePeriod(t *testing.T) {
	start := time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC) // the start in dates
	cases := []struct {
		name     string
		period   time.Duration
		now      time.Time
		create   string
		method   string
		path     string // suffix after the roomId
		body     string
		want     int
		wantBody string
	}{
		{name: "patch before the period", period: time.Hour, now: start.Add(-61 * time.Minute), create: twoFull, method: "PATCH", body: `{"end_date":"2026-03-02T17:00:00.000Z"}`, want: 204},
		{name: "patch at the period's start", period: time.Hour, now: start.Add(-time.Hour), create: twoFull, method: "PATCH", body: `{"end_date":"2026-03-02T17:00:00.000Z"}`, want: 400, wantBody: specBody(MsgImmutablePatch)},
		{name: "patch inside", period: time.Hour, now: start.Add(-time.Minute), create: twoFull, method: "PATCH", body: `{"end_date":"2026-03-02T17:00:00.000Z"}`, want: 400, wantBody: specBody(MsgImmutablePatch)},
		{name: "patch of a pending room inside", period: time.Hour, now: start.Add(-time.Minute), create: threePending, method: "PATCH", body: `{"end_date":"2026-03-02T17:00:00.000Z"}`, want: 204},
		{name: "zero period: after the start", now: start, create: twoFull, method: "PATCH", body: `{"end_date":"2026-03-02T17:00:00.000Z"}`, want: 400, wantBody: specBody(MsgImmutablePatch)},
		{name: "negative period disables", period: -1, now: start.Add(time.Hour), create: twoFull, method: "PATCH", body: `{"end_date":"2026-03-02T17:00:00.000Z"}`, want: 204},
		{name: "participant inside", period: time.Hour, now: start.Add(-time.Minute), create: twoFull, method: "POST", path: "/participants/data", body: pat2, want: 400, wantBody: specBody(MsgImmutableData("ID"))},
		{name: "delete inside is taken", period: time.Hour, now: start.Add(-time.Minute), create: twoFull, method: "DELETE", want: 204},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{ImmutablePeriod: c.period})
			id := f.create(t, c.create)
			before := f.room(t, id)
			f.now = c.now
			a := f.do(t, c.method, "/teleconsultation/"+id+c.path, c.body)
			want := strings.ReplaceAll(c.wantBody, "ID", id)
			if a.status != c.want || (want != "" && a.body != want) {
				t.Fatalf("%d %s, want %d %s", a.status, a.body, c.want, want)
			}
			if after := f.room(t, id); c.want == 400 && (after.BandyerRoomID != before.BandyerRoomID || !after.End.Equal(before.End)) {
				t.Fatalf("a refused change applied: %+v", after)
			}
		})
	}
}

func TestGetPerUser(t *testing.T) {
	f := newFixture(t, Options{})
	id := f.create(t, twoFull)
	r := f.room(t, id)
	for i, user := range []string{"doc1", "pat1"} {
		a := f.do(t, "GET", "/teleconsultation/"+id, "", DefaultUserHeader, user)
		if a.status != 200 {
			t.Fatalf("GET as %s: %d %s", user, a.status, a.body)
		}
		var got Link
		if err := json.Unmarshal([]byte(a.body), &got); err != nil {
			t.Fatal(err)
		}
		p := r.Participants[i]
		if got.BandyerUserID != p.BandyerUserID || got.AccessLinkURL != p.AccessLinkURL || !strings.HasPrefix(got.AccessLinkURL, DefaultLinkBase) {
			t.Errorf("GET as %s: %+v, participant %+v", user, got, p)
		}
		if len(got.ParticipantsBandyerCall) != 2 || got.ParticipantsBandyerCall[1].FullName != "Jane Doe" {
			t.Errorf("participantsBandyerCall %+v", got.ParticipantsBandyerCall)
		}
	}
	if r.Participants[0].AccessLinkURL == r.Participants[1].AccessLinkURL {
		t.Error("two participants share a link")
	}
	cases := []struct {
		name, room string
		hdr        []string
		want       int
		wantBody   string
	}{
		{name: "not a participant", room: id, hdr: []string{DefaultUserHeader, "someone"}, want: 401, wantBody: specBody(MsgUnauthorizedUser)},
		{name: "no user header", room: id, want: 401, wantBody: specBody(MsgUnauthorizedUser)},
		{name: "unknown room", room: "room_xyz", hdr: []string{DefaultUserHeader, "doc1"}, want: 404, wantBody: `{"error":"Room with id room_xyz not found on CRUD"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, "GET", "/teleconsultation/"+c.room, "", c.hdr...)
			if a.status != c.want || a.body != c.wantBody {
				t.Fatalf("%d %s, want %d %s", a.status, a.body, c.want, c.wantBody)
			}
		})
	}
	// A configured header replaces the default.
	g := newFixture(t, Options{UserHeader: "X-User-Id"})
	gid := g.create(t, twoFull)
	if a := g.do(t, "GET", "/teleconsultation/"+gid, "", "X-User-Id", "pat1"); a.status != 200 {
		t.Fatalf("GET with the configured header: %d %s", a.status, a.body)
	}
	if a := g.do(t, "GET", "/teleconsultation/"+gid, "", DefaultUserHeader, "pat1"); a.status != 401 {
		t.Fatalf("GET with the default header when another is configured: %d %s", a.status, a.body)
	}
}

func TestBandyerUserIsKeptAcrossRooms(t *testing.T) {
	f := newFixture(t, Options{})
	a, b := f.room(t, f.create(t, twoFull)), f.room(t, f.create(t, twoFull))
	if a.ID == b.ID || a.BandyerRoomID == b.BandyerRoomID || a.Participants[0].BandyerUserID != b.Participants[0].BandyerUserID {
		t.Fatalf("rooms %+v and %+v", a, b)
	}
}
