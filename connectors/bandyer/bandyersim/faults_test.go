package bandyersim

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServiceAuth(t *testing.T) {
	cases := []struct {
		name string
		opt  Options
		hdr  []string // replaces the default bearer
		want int
	}{
		{name: "bearer", hdr: []string{"Authorization", "Bearer " + DefaultAPIKey}, want: 201},
		{name: "bearer lower case", hdr: []string{"Authorization", "bearer " + DefaultAPIKey}, want: 201},
		{name: "api key header", hdr: []string{"Authorization", "", DefaultAPIKeyHeader, DefaultAPIKey}, want: 201},
		{name: "configured header", opt: Options{APIKey: "k2", APIKeyHeader: "client-key"}, hdr: []string{"Authorization", "", "client-key", "k2"}, want: 201},
		{name: "wrong key", hdr: []string{"Authorization", "Bearer nope"}, want: 401},
		{name: "basic", hdr: []string{"Authorization", "Basic " + DefaultAPIKey}, want: 401},
		{name: "none", hdr: []string{"Authorization", ""}, want: 401},
		{name: "default key when another is configured", opt: Options{APIKey: "k2"}, want: 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.opt)
			a := f.do(t, "POST", "/teleconsultation", twoFull, c.hdr...)
			if a.status != c.want {
				t.Fatalf("%d %s, want %d", a.status, a.body, c.want)
			}
			if c.want == 401 {
				if a.body != crudBody(401, "missing or invalid service credentials") {
					t.Errorf("401 body %s", a.body)
				}
				if len(f.sim.Rooms()) != 0 {
					t.Error("an unauthenticated POST stored a room")
				}
			}
		})
	}
}

func TestRoutesAndBodyBound(t *testing.T) {
	f := newFixture(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/teleconsultation"}, {"PUT", "/teleconsultation/x"}, {"POST", "/other"},
		{"GET", "/teleconsultation/x/participants/data"}, {"POST", "/teleconsultation//participants/data"},
	} {
		if a := f.do(t, c.method, c.path, ""); a.status != 404 || a.body != crudBody(404, "Route "+c.method+":"+c.path+" not found") {
			t.Errorf("%s %s: %d %s", c.method, c.path, a.status, a.body)
		}
	}
	big := `{"participants":{"number":1,"data":[` + doc + `]},` + dates + `,"pad":"` + strings.Repeat("x", MaxBody) + `"}`
	if a := f.do(t, "POST", "/teleconsultation", big); a.status != 413 || a.body != crudBody(413, "Request body is too large") {
		t.Fatalf("oversized body: %d %.200s", a.status, a.body)
	}
	if len(f.sim.Rooms()) != 0 {
		t.Fatal("an oversized body stored a room")
	}
}

func TestFaults(t *testing.T) {
	cases := []struct {
		name      string
		fault     Fault
		wantErr   bool
		want      int
		wantBody  string
		retry     string
		wantRooms int
	}{
		{name: "503 retry-after", fault: Fault{Method: "POST", Path: "/teleconsultation", Status: 503, RetryAfter: "7", Times: 1}, want: 503, wantBody: crudBody(503, "Service Unavailable"), retry: "7"},
		{name: "500 with message", fault: Fault{Status: 500, Message: "CRUD unreachable"}, want: 500, wantBody: crudBody(500, "CRUD unreachable")},
		{name: "other path untouched", fault: Fault{Path: "/teleconsultation/*", Status: 500}, want: 201, wantRooms: 1},
		{name: "slow", fault: Fault{Delay: 50 * time.Millisecond}, want: 201, wantRooms: 1},
		{name: "reset", fault: Fault{Reset: true}, wantErr: true},
		{name: "timeout after commit", fault: Fault{TimeoutAfterCommit: true, Delay: time.Millisecond}, wantErr: true, wantRooms: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.sim.Inject(c.fault)
			req, _ := http.NewRequest("POST", f.srv.URL+"/teleconsultation", bytes.NewBufferString(twoFull))
			req.Header.Set("Authorization", "Bearer "+DefaultAPIKey)
			start := time.Now()
			resp, err := f.srv.Client().Do(req)
			if c.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("answered %d, want a dropped connection", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.want || (c.wantBody != "" && strings.TrimSpace(buf.String()) != c.wantBody) {
					t.Fatalf("%d %s", resp.StatusCode, buf.String())
				}
				if resp.Header.Get("Retry-After") != c.retry {
					t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
				}
			}
			if c.fault.Delay > 0 && !c.wantErr && time.Since(start) < c.fault.Delay {
				t.Errorf("answered in %v, before the delay", time.Since(start))
			}
			if n := len(f.sim.Rooms()); n != c.wantRooms {
				t.Errorf("%d rooms, want %d", n, c.wantRooms)
			}
			log := f.sim.Requests()
			for deadline := time.Now().Add(2 * time.Second); len(log) == 0 && time.Now().Before(deadline); log = f.sim.Requests() {
				time.Sleep(5 * time.Millisecond) // a dropped connection is logged after the client sees it
			}
			if len(log) != 1 || log[0].Method != "POST" || log[0].Path != "/teleconsultation" || log[0].BodySHA256 == "" {
				t.Fatalf("request log %+v", log)
			}
			if log[0].Fault == "" && c.name != "other path untouched" {
				t.Errorf("log does not name the fault: %+v", log[0])
			}
		})
	}
	// Times: 1 affects one request only; ClearFaults removes the rest.
	f := newFixture(t, Options{})
	f.sim.Inject(Fault{Status: 503, Times: 1})
	f.sim.Inject(Fault{Method: "DELETE", Status: 500})
	if a := f.do(t, "POST", "/teleconsultation", twoFull); a.status != 503 {
		t.Fatalf("first: %d", a.status)
	}
	id := f.create(t, twoFull)
	if a := f.do(t, "DELETE", "/teleconsultation/"+id, ""); a.status != 500 {
		t.Fatalf("DELETE with a fault: %d", a.status)
	}
	f.sim.ClearFaults()
	if a := f.do(t, "DELETE", "/teleconsultation/"+id, ""); a.status != 204 {
		t.Fatalf("DELETE after ClearFaults: %d", a.status)
	}
}

func TestRequestLogHoldsNoPatientData(t *testing.T) {
	f := newFixture(t, Options{})
	id := f.create(t, twoFull)
	f.do(t, "GET", "/teleconsultation/"+id, "", DefaultUserHeader, "pat1")
	for _, e := range f.sim.Requests() {
		s := e.Method + e.Path + e.Fault // the digest is hex: searched values could occur in it by chance
		if strings.Contains(s, "Jane") || strings.Contains(s, "pat1") || strings.Contains(s, DefaultAPIKey) {
			t.Fatalf("log entry carries a body value or credential: %+v", e)
		}
	}
}
