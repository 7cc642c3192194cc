package vseesim

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	ssoBody := `{"code":"p1","first_name":"Ann"}`
	cases := []struct {
		name      string
		fault     Fault
		wantErr   bool
		want      int
		wantMsg   string
		retry     string
		wantUsers int
	}{
		{name: "503 retry-after", fault: Fault{Method: "POST", Path: "/users/sso", Status: 503, RetryAfter: "7", Times: 1}, want: 503, wantMsg: "Service Unavailable", retry: "7"},
		{name: "500 with message", fault: Fault{Status: 500, Message: "database down"}, want: 500, wantMsg: "database down"},
		{name: "other path untouched", fault: Fault{Path: "/visits/*", Status: 500}, want: 200, wantUsers: 1},
		{name: "slow", fault: Fault{Delay: 50 * time.Millisecond}, want: 200, wantUsers: 1},
		{name: "drop", fault: Fault{Reset: true}, wantErr: true},
		{name: "drop after commit", fault: Fault{TimeoutAfterCommit: true, Delay: time.Millisecond}, wantErr: true, wantUsers: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.sim.Inject(c.fault)
			req, _ := http.NewRequest("POST", f.srv.URL+"/users/sso", bytes.NewBufferString(ssoBody))
			req.Header.Set(HeaderAPIKey, DefaultAPIKey)
			req.Header.Set(HeaderAPISecret, DefaultSecret)
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
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				a := answer{status: resp.StatusCode, body: string(b), header: resp.Header}
				if a.status != c.want {
					t.Fatalf("%d %s, want %d", a.status, a.body, c.want)
				}
				if c.wantMsg != "" && a.errMsg(t) != c.wantMsg {
					t.Fatalf("message %q, want %q", a.errMsg(t), c.wantMsg)
				}
				if resp.Header.Get("Retry-After") != c.retry {
					t.Errorf("Retry-After %q, want %q", resp.Header.Get("Retry-After"), c.retry)
				}
			}
			if c.fault.Delay > 0 && !c.wantErr && time.Since(start) < c.fault.Delay {
				t.Errorf("answered in %v, before the delay", time.Since(start))
			}
			if n := len(f.sim.Users()); n != c.wantUsers {
				t.Errorf("%d users, want %d", n, c.wantUsers)
			}
			log := f.sim.Requests()
			for deadline := time.Now().Add(2 * time.Second); len(log) == 0 && time.Now().Before(deadline); log = f.sim.Requests() {
				time.Sleep(5 * time.Millisecond) // a dropped connection is logged after the client sees it
			}
			if len(log) != 1 || log[0].Method != "POST" || log[0].Path != "/users/sso" || log[0].BodySHA256 == "" {
				t.Fatalf("request log %+v", log)
			}
			if (log[0].Fault == "") != (c.name == "other path untouched") {
				t.Errorf("log fault %q", log[0].Fault)
			}
		})
	}
	// Times: 1 affects one request only; ClearFaults removes the rest.
	f := newFixture(t, Options{})
	f.sim.Inject(Fault{Status: 503, Times: 1})
	f.sim.Inject(Fault{Path: "/intakes", Status: 500})
	if a := f.do(t, "POST", "/users/sso", ssoBody, keys...); a.status != 503 {
		t.Fatalf("first: %d", a.status)
	}
	_, tok := f.sso(t, "p1")
	if a := f.do(t, "POST", "/intakes", "", HeaderAPIToken, tok); a.status != 500 {
		t.Fatalf("intake with a fault: %d", a.status)
	}
	f.sim.ClearFaults()
	f.intake(t, tok)
}

func TestRequestLogHoldsNoPatientDataOrToken(t *testing.T) {
	f := newFixture(t, Options{})
	_, tok := f.sso(t, "p1")
	in := f.intake(t, tok)
	f.do(t, "POST", "/visits/add_walkin", `{"intake_id":"`+in+`"}`, HeaderAPIToken, tok)
	f.do(t, "GET", DefaultPortalPath+"auth?sso_token="+tok+"&next=/u/clinic", "")
	if len(f.sim.Requests()) != 4 {
		t.Fatalf("%d log entries, want 4", len(f.sim.Requests()))
	}
	for _, e := range f.sim.Requests() {
		// the body's digest is hex: a short value such as "1980" can occur
		// in it by chance, so only the readable fields are searched
		s := e.Method + e.Path + e.Fault
		for _, secret := range []string{"Ann", "p1", "1980", tok, in, DefaultAPIKey, DefaultSecret} {
			if strings.Contains(s, secret) {
				t.Fatalf("log entry carries a body value, token or credential: %+v", e)
			}
		}
	}
}

func TestBodyBound(t *testing.T) {
	f := newFixture(t, Options{})
	_, tok := f.sso(t, "p1")
	pad := strings.Repeat(" ", MaxBody)
	for _, p := range []string{"/visits", "/visits/add_walkin", "/add_econsult", "/intakes"} {
		if a := f.do(t, "POST", p, `{"intake_id":"x"}`+pad, HeaderAPIToken, tok); a.status != 413 {
			t.Errorf("%s oversized: %d", p, a.status)
		}
	}
	// Exactly MaxBody is taken.
	body := `{"code":"p9"}`
	body += strings.Repeat(" ", MaxBody-len(body))
	if a := f.do(t, "POST", "/users/sso", body, keys...); a.status != 200 {
		t.Fatalf("a body of MaxBody bytes: %d %s", a.status, a.body)
	}
}
