package bandyer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// recordJSON builds a mapped record: start, status, number and the people
// ("Patient/pat-1", "Practitioner/dr-1", "PractitionerRole/r-1:code").
func recordJSON(start, status string, number int, people ...string) []byte {
	var ps []map[string]any
	for _, p := range people {
		ref, code, _ := strings.Cut(p, ":")
		typ, id, _ := strings.Cut(ref, "/")
		m := map[string]any{"resourceType": typ, "id": id,
			"fullName":    map[string]any{"given": "Given-" + id, "family": "Family-" + id},
			"identifiers": []any{map[string]any{"system": "urn:auth0", "value": "auth0|" + id}}}
		if code != "" {
			m["codes"] = []any{code}
		}
		if typ == "Patient" {
			m["language"] = "it"
		}
		ps = append(ps, m)
	}
	b, _ := json.Marshal(map[string]any{"start_date": start, "end_date": "2027-01-10T10:30:00.000Z", "status": status,
		"participants": map[string]any{"number": number, "people": ps}})
	return b
}

const start = "2027-01-10T10:00:00.000Z"

func body(t *testing.T, data []byte) *fhir.Value {
	t.Helper()
	v, err := fhir.Decode(data, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func newConn(t *testing.T, url string, mod func(*Config)) *Connector {
	t.Helper()
	cfg := Config{BaseURL: url, APIKey: "svc-key"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func delivery(op connectors.Op, vendorID string, rec *fhir.Value) connectors.Delivery {
	return connectors.Delivery{Flow: FlowTeleconsultation, Key: "Appointment/ap-1/1", ResourceType: "Appointment",
		ResourceID: "ap-1", Op: op, Body: rec, VendorID: vendorID, Fresh: true}
}

func TestCreateSendsTheSpecBodyAndBringsLinksBack(t *testing.T) {
	f, srv := newFake(t)
	c := newConn(t, srv.URL, nil)
	res, err := c.Deliver(context.Background(), delivery(connectors.Create, "",
		body(t, recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1"))))
	if err != nil {
		t.Fatal(err)
	}
	if res.VendorID != "room_1" {
		t.Fatalf("vendor id %q", res.VendorID)
	}
	posts := f.requests("POST")
	if len(posts) != 1 || posts[0].Path != "/teleconsultation" || posts[0].Auth != "Bearer svc-key" {
		t.Fatalf("posts %+v", posts)
	}
	want := `{"end_date":"2027-01-10T10:30:00.000Z","participants":{"data":[` +
		`{"userExternalId":"pat-1","groups":["patient"],"fullName":"Given-pat-1 Family-pat-1","language":"it"},` +
		`{"userExternalId":"dr-1","groups":["doctor"],"fullName":"Given-dr-1 Family-dr-1","language":"en"}],"number":2},` +
		`"start_date":"2027-01-10T10:00:00.000Z"}`
	if posts[0].Body != want {
		t.Fatalf("body\n%s\nwant\n%s", posts[0].Body, want)
	}
	gets := f.requests("GET")
	if len(gets) != 2 || gets[0].User != "pat-1" || gets[1].User != "dr-1" || gets[0].Path != "/teleconsultation/room_1" {
		t.Fatalf("gets %+v", gets)
	}
	for _, k := range []string{"Patient/pat-1:accessLinkURL", "Patient/pat-1:bandyerUserId", "Practitioner/dr-1:accessLinkURL"} {
		if res.Attributes[k] == "" {
			t.Fatalf("attribute %s missing: %v", k, res.Attributes)
		}
	}
}

func TestCreateWithUnknownParticipantsAsksNoLinks(t *testing.T) {
	f, srv := newFake(t)
	c := newConn(t, srv.URL, nil)
	res, err := c.Deliver(context.Background(), delivery(connectors.Create, "",
		body(t, recordJSON(start, "booked", 2, "Practitioner/dr-1"))))
	if err != nil || res.VendorID != "room_1" || res.Attributes != nil {
		t.Fatalf("res %+v err %v", res, err)
	}
	if n := len(f.requests("GET")); n != 0 {
		t.Fatalf("%d GETs before the room is complete", n)
	}
}

func TestAuth0Mode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		number int
		want   string
	}{
		{"all known: the plain array of auth0 ids", 2, `"participants":["auth0|pat-1","auth0|dr-1"]`},
		{"some unknown: number and data without groups or fullName", 3,
			`"participants":{"data":[{"userExternalId":"auth0|pat-1","language":"it"},{"userExternalId":"auth0|dr-1","language":"en"}],"number":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			c := newConn(t, srv.URL, func(c *Config) { c.Auth0, c.IdentifierSystem = true, "urn:auth0" })
			if _, err := c.Deliver(context.Background(), delivery(connectors.Create, "",
				body(t, recordJSON(start, "booked", tc.number, "Patient/pat-1", "Practitioner/dr-1")))); err != nil {
				t.Fatal(err)
			}
			if b := f.requests("POST")[0].Body; !strings.Contains(b, tc.want) {
				t.Fatalf("body %s, want %s", b, tc.want)
			}
		})
	}
}

func TestUpdateSendsOnlyWhatChanged(t *testing.T) {
	v1 := recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1")
	for _, tc := range []struct {
		name    string
		prev    []byte
		now     []byte
		patch   string // "" = no PATCH
		adds    []string
		noCalls bool
	}{
		{name: "start moved: start_date only", prev: v1,
			now:   recordJSON("2027-01-10T09:00:00.000Z", "booked", 2, "Patient/pat-1", "Practitioner/dr-1"),
			patch: `{"start_date":"2027-01-10T09:00:00.000Z"}`},
		{name: "nothing the backend keeps changed: no call", prev: v1, now: v1, noCalls: true},
		{name: "no previous record: every mutable member", prev: nil, now: v1,
			patch: `{"end_date":"2027-01-10T10:30:00.000Z","participants":{"data":[`},
		{name: "a participant became known: pushed alone",
			prev: recordJSON(start, "booked", 2, "Practitioner/dr-1"), now: recordJSON(start, "booked", 2, "Practitioner/dr-1", "Patient/pat-1"),
			adds: []string{`{"userExternalId":"pat-1","groups":["patient"],"fullName":"Given-pat-1 Family-pat-1","language":"it"}`}},
		{name: "a participant replaced: participants whole",
			prev: v1, now: recordJSON(start, "booked", 2, "Patient/pat-2", "Practitioner/dr-1"),
			patch: `{"participants":{"data":[{"userExternalId":"pat-2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.rooms["room_9"] = &fakeRoom{number: 2, data: []map[string]any{
				{"userExternalId": "pat-1"}, {"userExternalId": "dr-1"}, {"userExternalId": "pat-2"}}}
			c := newConn(t, srv.URL, nil)
			if tc.prev != nil {
				c.SetPrevious(func(_ context.Context, typ, id string) ([]byte, error) {
					if typ != "Appointment" || id != "ap-1" {
						t.Errorf("previous of %s/%s", typ, id)
					}
					return tc.prev, nil
				})
			}
			res, err := c.Deliver(context.Background(), delivery(connectors.Update, "room_9", body(t, tc.now)))
			if err != nil || res.VendorID != "room_9" {
				t.Fatalf("res %+v err %v", res, err)
			}
			calls := f.requests("")
			if tc.noCalls {
				if len(calls) != 0 {
					t.Fatalf("calls %+v", calls)
				}
				return
			}
			patches := f.requests("PATCH")
			switch {
			case tc.patch == "" && len(patches) != 0:
				t.Fatalf("unexpected PATCH %+v", patches)
			case tc.patch != "" && (len(patches) != 1 || !strings.HasPrefix(patches[0].Body, tc.patch) || patches[0].Path != "/teleconsultation/room_9"):
				t.Fatalf("PATCH %+v, want a body starting %s", patches, tc.patch)
			}
			var adds []string
			for _, p := range f.requests("POST") {
				if p.Path != "/teleconsultation/room_9/participants/data" {
					t.Fatalf("POST to %s", p.Path)
				}
				adds = append(adds, p.Body)
			}
			if strings.Join(adds, "|") != strings.Join(tc.adds, "|") {
				t.Fatalf("participant pushes %v, want %v", adds, tc.adds)
			}
			if len(f.requests("GET")) == 0 {
				t.Fatal("no access links asked once the room changed")
			}
		})
	}
}

func TestDelete(t *testing.T) {
	for _, tc := range []struct {
		name, status, vendorID string
		op                     connectors.Op
		calls                  int
	}{
		{"cancelled", "cancelled", "room_1", connectors.Cancel, 1},
		{"entered-in-error", "entered-in-error", "room_1", connectors.Update, 1},
		{"noshow", "noshow", "room_1", connectors.Update, 1},
		{"already gone (404) counts as done", "cancelled", "room_404", connectors.Cancel, 1},
		{"never created: nothing to delete", "noshow", "", connectors.Create, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.rooms["room_1"] = &fakeRoom{}
			c := newConn(t, srv.URL, nil)
			res, err := c.Deliver(context.Background(), delivery(tc.op, tc.vendorID,
				body(t, recordJSON(start, tc.status, 1, "Practitioner/dr-1"))))
			if err != nil || res.VendorID != tc.vendorID {
				t.Fatalf("res %+v err %v", res, err)
			}
			calls := f.requests("")
			if len(calls) != tc.calls || tc.calls == 1 && calls[0].Method != http.MethodDelete {
				t.Fatalf("calls %+v", calls)
			}
		})
	}
}

func TestImmutablePeriodRefusesWithoutSending(t *testing.T) {
	prev := recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1")
	moved := recordJSON("2027-01-10T11:00:00.000Z", "booked", 2, "Patient/pat-1", "Practitioner/dr-1")
	st, _ := time.Parse(time.RFC3339, "2027-01-10T10:00:00Z")
	for _, tc := range []struct {
		name    string
		now     time.Time
		prev    []byte
		refused bool
	}{
		{"inside the period", st.Add(-30 * time.Minute), prev, true},
		{"at the start of the period", st.Add(-time.Hour), prev, true},
		{"before the period", st.Add(-61 * time.Minute), prev, false},
		{"participants not all known: the backend takes changes", st.Add(-time.Minute),
			recordJSON(start, "booked", 2, "Practitioner/dr-1"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.rooms["room_1"] = &fakeRoom{number: 2, data: []map[string]any{{"userExternalId": "pat-1"}, {"userExternalId": "dr-1"}}}
			c := newConn(t, srv.URL, func(c *Config) { c.ImmutablePeriod = connectors.Duration(time.Hour) })
			c.now = func() time.Time { return tc.now }
			c.SetPrevious(func(context.Context, string, string) ([]byte, error) { return tc.prev, nil })
			_, err := c.Deliver(context.Background(), delivery(connectors.Update, "room_1", body(t, moved)))
			if !tc.refused {
				if err != nil || len(f.requests("PATCH")) != 1 {
					t.Fatalf("err %v, patches %d", err, len(f.requests("PATCH")))
				}
				return
			}
			if class, _ := connectors.Classify(err); !errors.Is(err, ErrImmutable) || class != connectors.Permanent {
				t.Fatalf("err %v", err)
			}
			if n := len(f.requests("")); n != 0 {
				t.Fatalf("%d calls for a refused change", n)
			}
			if c.ImmutableRefusals() != 1 {
				t.Fatalf("refusals %d", c.ImmutableRefusals())
			}
		})
	}
}

func TestPlusRuleAtDelivery(t *testing.T) {
	f, srv := newFake(t)
	c := newConn(t, srv.URL, func(c *Config) { c.Groups = map[string]string{"224535009": "nurse"} })
	_, err := c.Deliver(context.Background(), delivery(connectors.Create, "",
		body(t, recordJSON(start, "booked", 2, "Patient/pat-1", "PractitionerRole/r-1:224535009"))))
	if class, _ := connectors.Classify(err); !errors.Is(err, ErrNoPlusUser) || class != connectors.Permanent {
		t.Fatalf("err %v", err)
	}
	if n := len(f.requests("")); n != 0 {
		t.Fatalf("%d calls", n)
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		body       string
		header     string
		op         connectors.Op
		class      connectors.Class
		reason     error
		retryAfter time.Duration
	}{
		{"500 transient", 500, `{"error":"boom"}`, "", connectors.Create, connectors.Transient, ErrServer, 0},
		{"503 with Retry-After", 503, ``, "120", connectors.Create, connectors.Transient, ErrServer, 2 * time.Minute},
		{"429 transient", 429, ``, "", connectors.Update, connectors.Transient, ErrServer, 0},
		{"401 service credentials: reconnect", 401, `{"error":"Unauthorized"}`, "", connectors.Create, connectors.Reconnect, ErrCredentials, 0},
		{"403 service credentials: reconnect", 403, ``, "", connectors.Update, connectors.Reconnect, ErrCredentials, 0},
		{"400 no plus user", 400, `{"error":"Failed POST /teleconsultation: no plus user in room"}`, "", connectors.Create, connectors.Permanent, ErrNoPlusUser, 0},
		{"other 400 permanent", 400, `{"error":"Bad Request","message":"body/start_date must be string"}`, "", connectors.Create, connectors.Permanent, ErrRefused, 0},
		{"404 to a PATCH: the spec's words", 404, `{"error":"Room with id room_1 not found on CRUD"}`, "", connectors.Update, connectors.Permanent, ErrRoomNotFound, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.rooms["room_1"] = &fakeRoom{}
			f.fail = func(w http.ResponseWriter, r *http.Request) bool {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
				return true
			}
			c := newConn(t, srv.URL, nil)
			vid := ""
			if tc.op == connectors.Update {
				vid = "room_1"
			}
			_, err := c.Deliver(context.Background(), delivery(tc.op, vid,
				body(t, recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1"))))
			class, wait := connectors.Classify(err)
			if class != tc.class || !errors.Is(err, tc.reason) || wait != tc.retryAfter {
				t.Fatalf("err %v: class %v wait %v, want %v %v %v", err, class, wait, tc.class, tc.reason, tc.retryAfter)
			}
			for _, phi := range []string{"Given-pat-1", "Family-pat-1", "room_1", "svc-key"} {
				if strings.Contains(err.Error(), phi) {
					t.Fatalf("error %q holds %q", err, phi)
				}
			}
		})
	}
}

func TestLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		op    connectors.Op
		class connectors.Class
	}{
		{"a create in doubt is not repeated", connectors.Create, connectors.Permanent},
		{"a PATCH repeats harmlessly", connectors.Update, connectors.Transient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			f.rooms["room_1"] = &fakeRoom{}
			f.fail = func(w http.ResponseWriter, r *http.Request) bool {
				conn, _, _ := w.(http.Hijacker).Hijack()
				_ = conn.Close() // the request was read, no answer comes
				return true
			}
			c := newConn(t, srv.URL, nil)
			vid := ""
			if tc.op == connectors.Update {
				vid = "room_1"
			}
			_, err := c.Deliver(context.Background(), delivery(tc.op, vid, body(t, recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1"))))
			if class, _ := connectors.Classify(err); class != tc.class || errors.Is(err, ErrInDoubt) != (tc.class == connectors.Permanent) {
				t.Fatalf("err %v class %v", err, class)
			}
		})
	}
}

func TestLinkInTheSpecsWords(t *testing.T) {
	f, srv := newFake(t)
	f.rooms["room_1"] = &fakeRoom{number: 1, data: []map[string]any{{"userExternalId": "dr-1"}}}
	c := newConn(t, srv.URL, nil)
	ctx := context.Background()
	l, err := c.Link(ctx, "room_1", "dr-1")
	if err != nil || l.BandyerUserID != "b-dr-1" || !strings.HasPrefix(l.AccessLinkURL, "https://") {
		t.Fatalf("link %+v err %v", l, err)
	}
	_, err = c.Link(ctx, "room_1", "pat-7")
	if !errors.Is(err, ErrUnauthorizedUser) || !strings.Contains(err.Error(), "HTTP 401: Unauthorized user") || strings.Contains(err.Error(), "pat-7") {
		t.Fatalf("401: %v", err)
	}
	_, err = c.Link(ctx, "room_2", "dr-1")
	if !errors.Is(err, ErrRoomNotFound) || !strings.Contains(err.Error(), "not found on CRUD") || strings.Contains(err.Error(), "room_2") {
		t.Fatalf("404: %v", err)
	}
	// a participant the backend does not know: the delivery succeeds and
	// says why on the Appointment
	f.rooms["room_1"].data = []map[string]any{{"userExternalId": "dr-1"}}
	attrs := c.links(ctx, "room_1", c.s.wire(mustRecord(t, recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1"))))
	if attrs["Patient/pat-1:linkError"] != "HTTP 401: Unauthorized user" || attrs["Practitioner/dr-1:accessLinkURL"] == "" {
		t.Fatalf("attributes %v", attrs)
	}
}

func mustRecord(t *testing.T, b []byte) record {
	t.Helper()
	r, err := decodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		want   string
	}{
		{"the spec's 404 means reached", 0, ""},
		{"401 names the credentials", 401, "HTTP 401: the backend refused the service credentials (api_key)"},
		{"500", 500, "HTTP 500: the backend failed or is busy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			if tc.status != 0 {
				f.fail = func(w http.ResponseWriter, _ *http.Request) bool { w.WriteHeader(tc.status); return true }
			}
			c := newConn(t, srv.URL, nil)
			desc, err := c.Probe(context.Background())
			if tc.want == "" {
				if err != nil || !strings.Contains(desc, "HTTP 404") {
					t.Fatalf("desc %q err %v", desc, err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err %v, want %s", err, tc.want)
			}
		})
	}
	c := newConn(t, "http://127.0.0.1:1", nil)
	if _, err := c.Probe(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "cannot reach the backend: ") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestUnsupportedFlowAndBadRecord(t *testing.T) {
	c := newConn(t, "http://127.0.0.1:1", nil)
	d := delivery(connectors.Create, "", body(t, []byte(`{"start_date":1}`)))
	if _, err := c.Deliver(context.Background(), d); !errors.Is(err, ErrRecord) {
		t.Fatalf("bad record: %v", err)
	}
	d.Flow = "bandyer/other"
	if _, err := c.Deliver(context.Background(), d); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("flow: %v", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(recordJSON(start, "booked", 2, "Patient/pat-1", "Practitioner/dr-1"))
	f.Add([]byte(`{"participants":{"number":-1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		s, _ := validate(Config{BaseURL: "http://x"})
		w := s.wire(r)
		if len(w.Data) > w.Number {
			t.Fatalf("%d data for number %d", len(w.Data), w.Number)
		}
	})
}
