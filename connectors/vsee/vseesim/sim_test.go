package vseesim

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

// decode unmarshals the answer's body into a generic map.
func (a answer) data(t *testing.T) map[string]any {
	t.Helper()
	var m struct {
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(a.body), &m); err != nil || m.Data == nil {
		t.Fatalf("answer %d %q: no data object: %v", a.status, a.body, err)
	}
	return m.Data
}

// errMsg returns error.message of an error body.
func (a answer) errMsg(t *testing.T) string {
	t.Helper()
	var m struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &m); err != nil || m.Error.Code != a.status {
		t.Fatalf("answer %d %q: not an error body of its status: %v", a.status, a.body, err)
	}
	return m.Error.Message
}

// do sends a request with the given headers (name, value pairs); it does
// not follow redirects.
func (f *fixture) do(t *testing.T, method, path, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: string(b), header: resp.Header}
}

var keys = []string{HeaderAPIKey, DefaultAPIKey, HeaderAPISecret, DefaultSecret}

// sso logs the patient with code in and returns the member id and token.
func (f *fixture) sso(t *testing.T, code string) (member, tok string) {
	t.Helper()
	a := f.do(t, "POST", "/users/sso", `{"first_name":"Ann","last_name":"Lee","email":"a@example.org","dob":"1980-01-02","code":"`+code+`"}`, keys...)
	if a.status != 200 {
		t.Fatalf("sso: %d %s", a.status, a.body)
	}
	d := a.data(t)
	tokObj, _ := d["token"].(map[string]any)
	member, _ = d["id"].(string)
	tok, _ = tokObj["token"].(string)
	if member == "" || len(tok) != 32 {
		t.Fatalf("sso answer %s: want data.id and a 32-hex data.token.token", a.body)
	}
	return member, tok
}

// intake makes an intake with tok and returns its id.
func (f *fixture) intake(t *testing.T, tok string) string {
	t.Helper()
	a := f.do(t, "POST", "/intakes", `{}`, HeaderAPIToken, tok)
	if a.status != 200 {
		t.Fatalf("intake: %d %s", a.status, a.body)
	}
	id, _ := a.data(t)["id"].(string)
	if len(id) != 36 {
		t.Fatalf("intake id %q: want UUID-shaped", id)
	}
	return id
}

func TestSSO(t *testing.T) {
	cases := []struct {
		name   string
		hdr    []string
		body   string
		status int
	}{
		{"ok", keys, `{"code":"p1","first_name":"A"}`, 200},
		{"external_id", keys, `{"external_id":"p1"}`, 200},
		{"email only", keys, `{"email":"x@example.org"}`, 200},
		{"numeric code", keys, `{"code":12345}`, 200},
		{"unknown fields ignored", keys, `{"code":"p1","extra":[1,2]}`, 200},
		{"no key", []string{HeaderAPISecret, DefaultSecret}, `{"code":"p1"}`, 401},
		{"no secret", []string{HeaderAPIKey, DefaultAPIKey}, `{"code":"p1"}`, 401},
		{"wrong secret", []string{HeaderAPIKey, DefaultAPIKey, HeaderAPISecret, "nope"}, `{"code":"p1"}`, 401},
		{"admin token is not a key", []string{HeaderAPIToken, DefaultAdminToken}, `{"code":"p1"}`, 401},
		{"no id", keys, `{"first_name":"A"}`, 400},
		{"not an object", keys, `[1]`, 400},
		{"two objects", keys, `{"code":"a"}{}`, 400},
		{"code not a string", keys, `{"code":{}}`, 400},
		{"field too long", keys, `{"code":"` + strings.Repeat("x", MaxField+1) + `"}`, 400},
		{"too large", keys, `{"code":"p1","pad":"` + strings.Repeat("x", MaxBody) + `"}`, 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			a := f.do(t, "POST", "/users/sso", c.body, c.hdr...)
			if a.status != c.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, c.status)
			}
			if c.status != 200 {
				if msg := a.errMsg(t); strings.Contains(msg, "p1") || strings.Contains(msg, "xxxx") {
					t.Fatalf("error message %q carries a value", msg)
				}
				if len(f.sim.Users()) != 0 {
					t.Fatal("a refused call made a user")
				}
				return
			}
			d := a.data(t)
			tok := d["token"].(map[string]any)
			if exp, _ := tok["expires"].(float64); int64(exp) != t0.Add(DefaultTokenTTL).Unix() {
				t.Fatalf("expires %v, want now+TTL", tok["expires"])
			}
		})
	}
}

func TestSSOFindsTheSameUser(t *testing.T) {
	f := newFixture(t, Options{})
	m1, tok1 := f.sso(t, "p1")
	m2, tok2 := f.sso(t, "p1")
	m3, _ := f.sso(t, "p2")
	if m1 != m2 || m1 == m3 || tok1 == tok2 {
		t.Fatalf("members %s %s %s, tokens equal %t: want the same member, a new token, another member for p2", m1, m2, m3, tok1 == tok2)
	}
	us := f.sim.Users()
	if len(us) != 2 || us[0].ID != m1 || us[0].ExternalID != "p1" || us[0].Tokens != 2 || us[0].DOB != "1980-01-02" || us[0].FirstName != "Ann" {
		t.Fatalf("users %+v", us)
	}
	// Both tokens stay valid until they expire.
	f.intake(t, tok1)
	f.intake(t, tok2)
}

func TestTokenExpiry(t *testing.T) {
	f := newFixture(t, Options{TokenTTL: time.Minute})
	_, tok := f.sso(t, "p1")
	in := f.intake(t, tok)
	f.now = t0.Add(time.Minute - time.Second)
	if a := f.do(t, "POST", "/visits/add_walkin", `{"intake_id":"`+in+`"}`, HeaderAPIToken, tok); a.status != 200 {
		t.Fatalf("before expiry: %d %s", a.status, a.body)
	}
	f.now = t0.Add(time.Minute)
	for _, p := range []string{"/intakes", "/visits/add_walkin", "/add_econsult"} {
		if a := f.do(t, "POST", p, `{"intake_id":"`+in+`"}`, HeaderAPIToken, tok); a.status != 401 {
			t.Fatalf("%s after expiry: %d %s, want 401", p, a.status, a.body)
		}
	}
	if a := f.do(t, "GET", f.sim.Options().PortalPath+"auth?sso_token="+tok+"&next=/u/clinic", ""); a.status != 401 {
		t.Fatalf("auth after expiry: %d, want 401", a.status)
	}
}

func TestIntakes(t *testing.T) {
	f := newFixture(t, Options{})
	member, tok := f.sso(t, "p1")
	cases := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"sso token", []string{HeaderAPIToken, tok}, 200},
		{"no token", nil, 401},
		{"unknown token", []string{HeaderAPIToken, strings.Repeat("0", 32)}, 401},
		{"admin token names no patient", []string{HeaderAPIToken, DefaultAdminToken}, 401},
		{"api key is not a token", keys, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(f.sim.Intakes())
			a := f.do(t, "POST", "/intakes", `{"reason":"x"}`, c.hdr...)
			if a.status != c.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, c.status)
			}
			ins := f.sim.Intakes()
			if c.status != 200 {
				a.errMsg(t)
				if len(ins) != n {
					t.Fatal("a refused call made an intake")
				}
				return
			}
			id := a.data(t)["id"].(string)
			found := false
			for _, in := range ins {
				found = found || (in.ID == id && in.MemberID == member)
			}
			if !found {
				t.Fatalf("intake %s of %s not held: %+v", id, member, ins)
			}
		})
	}
}

func TestVisits(t *testing.T) {
	f := newFixture(t, Options{})
	member, tok := f.sso(t, "p1")
	_, other := f.sso(t, "p2")
	in := f.intake(t, tok)
	start := t0.Add(24 * time.Hour)
	cases := []struct {
		name, path, body string
		hdr              []string
		status           int
		kind             string
		oneTime, forced  bool
	}{
		{"scheduled unix", "/visits", `{"intake_id":"` + in + `","start":` + itoa(start.Unix()) + `,"provider_id":"dr1"}`, []string{HeaderAPIToken, tok}, 200, KindScheduled, true, false},
		{"scheduled unix string", "/visits", `{"intake_id":"` + in + `","start":"` + itoa(start.Unix()) + `"}`, []string{HeaderAPIToken, tok}, 200, KindScheduled, true, false},
		{"scheduled RFC 3339", "/visits", `{"intake_id":"` + in + `","start":"` + start.Format(time.RFC3339) + `"}`, []string{HeaderAPIToken, tok}, 200, KindScheduled, true, false},
		{"scheduled admin", "/visits", `{"intake_id":"` + in + `","start":"` + start.Format(time.RFC3339) + `"}`, []string{HeaderAPIToken, DefaultAdminToken}, 200, KindScheduled, true, true},
		{"walk-in", "/visits/add_walkin", `{"intake_id":"` + in + `"}`, []string{HeaderAPIToken, tok}, 200, KindWalkin, false, false},
		{"e-consult", "/add_econsult", `{"intake_id":"` + in + `"}`, []string{HeaderAPIToken, tok}, 200, KindEconsult, false, false},
		{"scheduled without start", "/visits", `{"intake_id":"` + in + `"}`, []string{HeaderAPIToken, tok}, 400, "", false, false},
		{"bad start", "/visits", `{"intake_id":"` + in + `","start":"tomorrow"}`, []string{HeaderAPIToken, tok}, 400, "", false, false},
		{"fractional start", "/visits", `{"intake_id":"` + in + `","start":1.5}`, []string{HeaderAPIToken, tok}, 400, "", false, false},
		{"no intake id", "/visits/add_walkin", `{}`, []string{HeaderAPIToken, tok}, 400, "", false, false},
		{"unknown intake", "/add_econsult", `{"intake_id":"nope"}`, []string{HeaderAPIToken, tok}, 404, "", false, false},
		{"another patient's intake", "/visits/add_walkin", `{"intake_id":"` + in + `"}`, []string{HeaderAPIToken, other}, 404, "", false, false},
		{"no token", "/visits/add_walkin", `{"intake_id":"` + in + `"}`, nil, 401, "", false, false},
		{"wrong method", "/visits/add_walkin", ``, []string{HeaderAPIToken, tok}, 405, "", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := len(f.sim.Visits())
			method := "POST"
			if c.status == 405 {
				method = "PUT"
			}
			a := f.do(t, method, c.path, c.body, c.hdr...)
			if a.status != c.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, c.status)
			}
			vs := f.sim.Visits()
			if c.status != 200 {
				a.errMsg(t)
				if len(vs) != n {
					t.Fatal("a refused call made a visit")
				}
				return
			}
			d := a.data(t)
			v := vs[len(vs)-1]
			if d["id"] != v.ID || v.Kind != c.kind || v.IntakeID != in || v.MemberID != member || v.Forced != c.forced {
				t.Fatalf("answer %v, visit %+v", d, v)
			}
			if ott, _ := d["one_time_link_token"].(string); (ott != "") != c.oneTime || ott != v.OneTimeLinkToken {
				t.Fatalf("one_time_link_token %q, visit's %q, want one: %t", ott, v.OneTimeLinkToken, c.oneTime)
			}
			if c.kind == KindScheduled && !v.Start.Equal(start) {
				t.Fatalf("start %v, want %v", v.Start, start)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestNoOneTimeLinks(t *testing.T) {
	f := newFixture(t, Options{NoOneTimeLinks: true})
	_, tok := f.sso(t, "p1")
	in := f.intake(t, tok)
	a := f.do(t, "POST", "/visits", `{"intake_id":"`+in+`","start":`+itoa(t0.Unix())+`}`, HeaderAPIToken, tok)
	if a.status != 200 || strings.Contains(a.body, "one_time_link_token") {
		t.Fatalf("%d %s: want a visit without one_time_link_token", a.status, a.body)
	}
}

func TestAvailability(t *testing.T) {
	slot := Slot{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)}
	in1 := t0.Add(90 * time.Minute).Unix()
	cases := []struct {
		name     string
		avail    map[string][]Slot
		bodies   []string // scheduled bodies sent in turn (INTAKE replaced)
		admin    []bool
		statuses []int
	}{
		{"no availability configured: all free", nil,
			[]string{`{"intake_id":"INTAKE","start":` + itoa(in1) + `}`}, []bool{false}, []int{200}},
		{"in a slot", map[string][]Slot{"dr1": {slot}},
			[]string{`{"intake_id":"INTAKE","start":` + itoa(in1) + `,"provider_id":"dr1"}`}, []bool{false}, []int{200}},
		{"slot end excluded", map[string][]Slot{"dr1": {slot}},
			[]string{`{"intake_id":"INTAKE","start":` + itoa(slot.End.Unix()) + `,"provider_id":"dr1"}`}, []bool{false}, []int{400}},
		{"provider without slots", map[string][]Slot{"dr1": {slot}},
			[]string{`{"intake_id":"INTAKE","start":` + itoa(in1) + `,"provider_id":"dr2"}`}, []bool{false}, []int{400}},
		{"no provider named", map[string][]Slot{"dr1": {slot}},
			[]string{`{"intake_id":"INTAKE","start":` + itoa(in1) + `}`}, []bool{false}, []int{400}},
		{"empty calendar forced by the admin token", map[string][]Slot{},
			[]string{`{"intake_id":"INTAKE","start":` + itoa(in1) + `,"provider_id":"dr2"}`}, []bool{true}, []int{200}},
		{"a slot is taken once, then forced", map[string][]Slot{"dr1": {slot}},
			[]string{
				`{"intake_id":"INTAKE","start":` + itoa(in1) + `,"provider_id":"dr1"}`,
				`{"intake_id":"INTAKE","start":` + itoa(in1) + `,"provider_id":"dr1"}`,
				`{"intake_id":"INTAKE","start":` + itoa(in1) + `,"provider_id":"dr1"}`,
			}, []bool{false, false, true}, []int{200, 400, 200}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{Availability: c.avail})
			_, tok := f.sso(t, "p1")
			in := f.intake(t, tok)
			for i, body := range c.bodies {
				hdr := tok
				if c.admin[i] {
					hdr = DefaultAdminToken
				}
				a := f.do(t, "POST", "/visits", strings.ReplaceAll(body, "INTAKE", in), HeaderAPIToken, hdr)
				if a.status != c.statuses[i] {
					t.Fatalf("call %d: %d %s, want %d", i, a.status, a.body, c.statuses[i])
				}
				if a.status == 400 && a.errMsg(t) != MsgNoAvailability {
					t.Fatalf("call %d: message %q", i, a.errMsg(t))
				}
			}
			forced := 0
			for _, v := range f.sim.Visits() {
				if v.Forced {
					forced++
				}
			}
			want := 0
			for i, adm := range c.admin {
				if adm && c.statuses[i] == 200 {
					want++
				}
			}
			if forced != want {
				t.Fatalf("%d forced visits, want %d", forced, want)
			}
		})
	}
}

func TestGetVisit(t *testing.T) {
	f := newFixture(t, Options{})
	member, tok := f.sso(t, "p1")
	_, other := f.sso(t, "p2")
	in := f.intake(t, tok)
	a := f.do(t, "POST", "/visits/add_walkin", `{"intake_id":"`+in+`"}`, HeaderAPIToken, tok)
	id := a.data(t)["id"].(string)
	v := f.sim.Visits()[0]
	cases := []struct {
		name, id string
		hdr      []string
		status   int
	}{
		{"owner", id, []string{HeaderAPIToken, tok}, 200},
		{"admin", id, []string{HeaderAPIToken, DefaultAdminToken}, 200},
		{"another patient", id, []string{HeaderAPIToken, other}, 404},
		{"unknown", "999", []string{HeaderAPIToken, tok}, 404},
		{"no token", id, nil, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, "GET", "/visits/"+c.id, "", c.hdr...)
			if a.status != c.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, c.status)
			}
			if c.status != 200 {
				a.errMsg(t)
				return
			}
			d := a.data(t)
			if d["id"] != id || d["code"] != v.Code || len(v.Code) != 32 || d["member_id"] != member || d["type"] != KindWalkin {
				t.Fatalf("answer %v, visit %+v", d, v)
			}
		})
	}
}

func TestAuthRedirectOnce(t *testing.T) {
	f := newFixture(t, Options{})
	member, tok := f.sso(t, "p1")
	_, tok2 := f.sso(t, "p1")
	auth := DefaultPortalPath + "auth?sso_token="
	cases := []struct {
		name, query string
		status      int
		location    string
	}{
		{"bad next absolute", tok + "&next=https://evil.example/", 400, ""},
		{"bad next scheme-relative", tok + "&next=//evil.example/", 400, ""},
		{"bad next climbing", tok + "&next=/../x", 400, ""},
		{"no next", tok, 400, ""},
		{"unknown token", strings.Repeat("a", 32) + "&next=/u/clinic", 401, ""},
		{"first use", tok + "&next=/visits/start/67258&disable_navigation=1", 302, DefaultPortalPath + "visits/start/67258"},
		{"second use", tok + "&next=/u/clinic", 403, ""},
		{"another token of the same user", tok2 + "&next=/u/clinic", 302, DefaultPortalPath + "u/clinic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := f.do(t, "GET", auth+c.query, "")
			if a.status != c.status {
				t.Fatalf("status %d %s, want %d", a.status, a.body, c.status)
			}
			if c.status != 302 {
				if msg := a.errMsg(t); strings.Contains(msg, tok) {
					t.Fatal("the error carries the token")
				}
				return
			}
			if got := a.header.Get("Location"); got != c.location {
				t.Fatalf("Location %q, want %q", got, c.location)
			}
		})
	}
	if !f.sim.TokenUsed(tok) || !f.sim.TokenUsed(tok2) || f.sim.TokenUsed("x") {
		t.Fatal("TokenUsed does not tell the used tokens")
	}
	ls := f.sim.Logins()
	if len(ls) != 2 || ls[0].MemberID != member || ls[0].Next != "/visits/start/67258" || !ls[0].Time.Equal(t0) {
		t.Fatalf("logins %+v", ls)
	}
	// The page redirected to answers.
	if a := f.do(t, "GET", DefaultPortalPath+"u/clinic", ""); a.status != 200 || !strings.Contains(a.body, "/u/clinic") {
		t.Fatalf("portal page: %d %s", a.status, a.body)
	}
}

func TestRoutes(t *testing.T) {
	f := newFixture(t, Options{})
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope", 404},
		{"GET", "/users/sso", 405},
		{"GET", "/intakes", 405},
		{"DELETE", "/visits/1", 405},
		{"GET", "/visits/1/x", 404},
		{"POST", DefaultPortalPath + "auth", 405},
	}
	for _, c := range cases {
		if a := f.do(t, c.method, c.path, ""); a.status != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, a.status, a.body, c.status)
		}
	}
}

func TestPortalPathAndURL(t *testing.T) {
	s := New(Options{PortalPath: "portal"})
	if s.Options().PortalPath != "/portal/" || s.PortalURL() != "" {
		t.Fatalf("PortalPath %q, PortalURL before Start %q", s.Options().PortalPath, s.PortalURL())
	}
	u, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.URL() != u || s.PortalURL() != u+"/portal/" {
		t.Fatalf("URL %q PortalURL %q", s.URL(), s.PortalURL())
	}
	resp, err := http.Get(s.PortalURL() + "u/clinic")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("portal page %d", resp.StatusCode)
	}
}
