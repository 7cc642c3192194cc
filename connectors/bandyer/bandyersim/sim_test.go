package bandyersim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture serves a Sim on a loopback server with a settable clock.
type fixture struct {
	sim *Sim
	srv *httptest.Server
	now time.Time
}

func newFixture(t *testing.T, opt Options) *fixture {
	t.Helper()
	f := &fixture{now: t0}
	opt.Now = func() time.Time { return f.now }
	f.sim = New(opt)
	f.srv = httptest.NewServer(f.sim)
	t.Cleanup(func() { _ = f.sim.Close(); f.srv.Close() })
	return f
}

type answer struct {
	status int
	body   string
	header http.Header
}

// do sends a request with the default API key (unless hdr sets
// credentials) and the given headers.
func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, strings.TrimSpace(string(b)), resp.Header}
}

// create posts body and returns the roomId.
func (f *fixture) create(t *testing.T, body string) string {
	t.Helper()
	a := f.do(t, "POST", "/teleconsultation", body)
	if a.status != 201 {
		t.Fatalf("POST: %d %s", a.status, a.body)
	}
	var out struct{ RoomID string }
	if err := json.Unmarshal([]byte(a.body), &out); err != nil || out.RoomID == "" {
		t.Fatalf("POST answer %q: %v", a.body, err)
	}
	return out.RoomID
}

func (f *fixture) room(t *testing.T, id string) Room {
	t.Helper()
	r, ok := f.sim.Room(id)
	if !ok {
		t.Fatalf("room %s not held", id)
	}
	return r
}

const (
	doc     = `{"userExternalId":"doc1","groups":["doctor"],"fullName":"Joe Smith","language":"it"}`
	pat     = `{"userExternalId":"pat1","groups":["patient"],"fullName":"Jane Doe","language":"it"}`
	pat2    = `{"userExternalId":"pat2","groups":["patient"],"fullName":"John Roe","language":"en"}`
	dates   = `"start_date":"2026-03-02T15:30:00.000Z","end_date":"2026-03-02T16:30:00.000Z"`
	twoFull = `{"participants":{"number":2,"data":[` + doc + `,` + pat + `]},` + dates + `}`
)

func specBody(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}

func crudBody(status int, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": http.StatusText(status), "message": msg, "statusCode": status})
	return string(b)
}

func TestCreate(t *testing.T) {
	cases := []struct {
		name       string
		auth0      bool
		groups     []string
		body       string
		want       int
		wantBody   string // exact, when set
		wantRoom   bool   // a Bandyer room exists
		wantPeople int
	}{
		{name: "all known", body: twoFull, want: 201, wantRoom: true, wantPeople: 2},
		{name: "pending", body: `{"participants":{"number":3,"data":[` + doc + `,` + pat + `]},` + dates + `}`, want: 201, wantPeople: 2},
		{name: "pending without plus user is taken", body: `{"participants":{"number":2,"data":[` + pat + `]},` + dates + `}`, want: 201, wantPeople: 1},
		{name: "no plus user", body: `{"participants":{"number":2,"data":[` + pat + `,` + pat2 + `]},` + dates + `}`, want: 400, wantBody: specBody(MsgNoPlusPost)},
		{name: "auth0 array", auth0: true, body: `{"participants":["doc1","pat1"],` + dates + `}`, want: 201, wantRoom: true, wantPeople: 2},
		{name: "auth0 array no plus", auth0: true, body: `{"participants":["pat1","nobody"],` + dates + `}`, want: 400, wantBody: specBody(MsgNoPlusPost)},
		{name: "auth0 object without groups", auth0: true, body: `{"participants":{"number":2,"data":[{"userExternalId":"doc1","language":"it"},{"userExternalId":"pat1","language":"it"}]},` + dates + `}`, want: 201, wantRoom: true, wantPeople: 2},
		{name: "array without auth0", body: `{"participants":["doc1","pat1"],` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants must be object (an array of auth0 ids needs the auth0 dependency)")},
		{name: "missing participants", body: `{` + dates + `}`, want: 400, wantBody: crudBody(400, "body must have required property 'participants'")},
		{name: "missing start", body: `{"participants":{"number":1,"data":[` + doc + `]},"end_date":"2026-03-02T16:30:00.000Z"}`, want: 400, wantBody: crudBody(400, "body must have required property 'start_date'")},
		{name: "missing end", body: `{"participants":{"number":1,"data":[` + doc + `]},"start_date":"2026-03-02T16:30:00.000Z"}`, want: 400, wantBody: crudBody(400, "body must have required property 'end_date'")},
		{name: "date without millis", body: `{"participants":{"number":1,"data":[` + doc + `]},"start_date":"2026-03-02T15:30:00Z","end_date":"2026-03-02T16:30:00.000Z"}`, want: 400, wantBody: crudBody(400, "body/start_date must match format YYYY-MM-DDTHH:mm:ss.sssZ")},
		{name: "date with offset", body: `{"participants":{"number":1,"data":[` + doc + `]},"start_date":"2026-03-02T15:30:00.000Z","end_date":"2026-03-02T16:30:00.000+01:00"}`, want: 400, wantBody: crudBody(400, "body/end_date must match format YYYY-MM-DDTHH:mm:ss.sssZ")},
		{name: "impossible date", body: `{"participants":{"number":1,"data":[` + doc + `]},"start_date":"2026-02-30T15:30:00.000Z","end_date":"2026-03-02T16:30:00.000Z"}`, want: 400, wantBody: crudBody(400, "body/start_date must be a valid date")},
		{name: "end before start", body: `{"participants":{"number":1,"data":[` + doc + `]},"start_date":"2026-03-02T16:30:00.000Z","end_date":"2026-03-02T15:30:00.000Z"}`, want: 400, wantBody: crudBody(400, "body/end_date must not be before body/start_date")},
		{name: "more data than number", body: `{"participants":{"number":1,"data":[` + doc + `,` + pat + `]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/data must NOT have more items than body/participants/number")},
		{name: "number zero", body: `{"participants":{"number":0,"data":[]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/number must be between 1 and 100")},
		{name: "number not integer", body: `{"participants":{"number":1.5,"data":[]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/number must be integer")},
		{name: "no groups without auth0", body: `{"participants":{"number":1,"data":[{"userExternalId":"doc1","fullName":"Joe Smith"}]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/data/0 must have required property 'groups'")},
		{name: "no fullName without auth0", body: `{"participants":{"number":1,"data":[{"userExternalId":"doc1","groups":["doctor"]}]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/data/0 must have required property 'fullName'")},
		{name: "no userExternalId", body: `{"participants":{"number":1,"data":[{"groups":["doctor"],"fullName":"Joe Smith"}]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/data/0 must have required property 'userExternalId'")},
		{name: "unknown group", groups: []string{"doctor", "patient"}, body: `{"participants":{"number":1,"data":[{"userExternalId":"doc1","groups":["nurse"],"fullName":"Joe"}]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants/data/0/groups/0 must be equal to one of the allowed values")},
		{name: "repeated participant", body: `{"participants":{"number":2,"data":[` + doc + `,` + doc + `]},` + dates + `}`, want: 400, wantBody: crudBody(400, "body/participants must not repeat a userExternalId")},
		{name: "extra field", body: `{"participants":{"number":1,"data":[` + doc + `]},` + dates + `,"x":1}`, want: 400, wantBody: crudBody(400, "body must NOT have additional properties")},
		{name: "not json", body: `{"participants":`, want: 400, wantBody: crudBody(400, "body must be object")},
		{name: "two objects", body: twoFull + twoFull, want: 400, wantBody: crudBody(400, "body must be one JSON object")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{Auth0: c.auth0, Groups: c.groups, Auth0Users: map[string]Auth0User{
				"doc1": {Groups: []string{"doctor"}, FullName: "Joe Smith"},
				"pat1": {Groups: []string{"patient"}, FullName: "Jane Doe"},
			}})
			a := f.do(t, "POST", "/teleconsultation", c.body)
			if a.status != c.want {
				t.Fatalf("status %d, want %d (%s)", a.status, c.want, a.body)
			}
			if c.wantBody != "" && a.body != c.wantBody {
				t.Fatalf("body\n %s\nwant\n %s", a.body, c.wantBody)
			}
			rooms := f.sim.Rooms()
			if c.want != 201 {
				if len(rooms) != 0 {
					t.Fatalf("a refused POST stored %d rooms", len(rooms))
				}
				return
			}
			if len(rooms) != 1 {
				t.Fatalf("%d rooms", len(rooms))
			}
			r := rooms[0]
			if a.body != `{"roomId":"`+r.ID+`"}` {
				t.Errorf("answer %s for room %s", a.body, r.ID)
			}
			if (r.BandyerRoomID != "") != c.wantRoom || len(r.Participants) != c.wantPeople || r.State != StatePublic {
				t.Errorf("room %+v", r)
			}
			for _, p := range r.Participants {
				if p.BandyerUserID == "" || (p.AccessLinkURL != "") != c.wantRoom {
					t.Errorf("participant %+v", p)
				}
				if c.auth0 && p.FullName == "" {
					t.Errorf("auth0 did not fill the full name: %+v", p)
				}
			}
			if !r.Start.Equal(time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)) || !r.End.Equal(time.Date(2026, 3, 2, 16, 30, 0, 0, time.UTC)) {
				t.Errorf("dates %v %v", r.Start, r.End)
			}
		})
	}
}
