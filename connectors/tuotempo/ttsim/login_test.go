package ttsim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

var loginForm = url.Values{
	"dbName": {DefaultDBName}, "fname": {"Valentina"}, "lname": {"Rossa"}, "phone": {"600000001"},
	"hometel": {"910000000"}, "email": {"v@example.org"}, "idnumber": {"X1234567"}, "birthday": {"10/01/1972"},
}

func loginReq(method, target, body, ctype, user, pass string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	return r
}

func TestLoginServer(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	good := loginForm.Encode()
	wrongDB := url.Values{"dbName": {"tt_other"}}.Encode()
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"form and basic", loginReq("POST", "/login", good, form, DefaultLoginUser, DefaultLoginPassword), 200},
		{"charset in type", loginReq("POST", "/login", good, form+"; charset=utf-8", DefaultLoginUser, DefaultLoginPassword), 200},
		{"no credentials", loginReq("POST", "/login", good, form, "", ""), 401},
		{"wrong password", loginReq("POST", "/login", good, form, DefaultLoginUser, "nope"), 401},
		{"wrong user", loginReq("POST", "/login", good, form, "other", DefaultLoginPassword), 401},
		{"GET", loginReq("GET", "/login", "", "", DefaultLoginUser, DefaultLoginPassword), 400},
		{"patient in the query", loginReq("POST", "/login?dbName="+DefaultDBName+"&fname=Valentina", good, form, DefaultLoginUser, DefaultLoginPassword), 400},
		{"GET with the data in the query", loginReq("GET", "/login?"+good, "", "", DefaultLoginUser, DefaultLoginPassword), 400},
		{"JSON body", loginReq("POST", "/login", `{"dbName":"tt_sandbox"}`, "application/json", DefaultLoginUser, DefaultLoginPassword), 400},
		{"wrong dbName", loginReq("POST", "/login", wrongDB, form, DefaultLoginUser, DefaultLoginPassword), 400},
		{"unknown field", loginReq("POST", "/login", good+"&ssn=1", form, DefaultLoginUser, DefaultLoginPassword), 400},
		{"repeated field", loginReq("POST", "/login", good+"&fname=B", form, DefaultLoginUser, DefaultLoginPassword), 400},
		{"ISO birthday", loginReq("POST", "/login", "dbName=tt_sandbox&birthday=1972-01-10", form, DefaultLoginUser, DefaultLoginPassword), 400},
		{"too large", loginReq("POST", "/login", good+"&note="+strings.Repeat("a", MaxLoginBody), form, DefaultLoginUser, DefaultLoginPassword), 400},
		{"operator form", loginReq("GET", "/mop_customer.php?dbName=tt_sandbox&username=op&password=pw", "", "", "", ""), 400},
		{"unknown session", loginReq("GET", "/mop_customer.php?dbName=tt_sandbox&sessionid=abc", "", "", "", ""), 403},
		{"other path", loginReq("GET", "/admin", "", "", "", ""), 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLoginServer(LoginOptions{})
			w := httptest.NewRecorder()
			l.ServeHTTP(w, tt.req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			body := w.Body.String()
			if tt.status != 200 {
				if len(l.Sessions()) != 0 {
					t.Errorf("a refused login kept a session")
				}
				for _, private := range []string{"Valentina", "X1234567", "1972"} {
					if strings.Contains(body, private) {
						t.Errorf("the answer repeats patient data: %q", body)
					}
				}
				return
			}
			id, ok := strings.CutPrefix(body, "sessionId=")
			if !ok || len(id) != 32 {
				t.Fatalf("body %q, want sessionId=<32 hex>", body)
			}
			s, ok := l.Session(id)
			if !ok || s.Fields["fname"] != "Valentina" || s.Fields["idnumber"] != "X1234567" || s.Fields["birthday"] != "10/01/1972" || len(s.Fields) != 8 {
				t.Errorf("session %v %v", ok, s.Fields)
			}
			// the browser goes to mop_customer.php with the session id only
			for _, c := range []struct {
				q      string
				status int
			}{{"dbName=tt_sandbox&sessionid=" + id, 200}, {"dbName=tt_other&sessionid=" + id, 403}, {"dbName=tt_sandbox&sessionid=" + id + "x", 403}} {
				w := httptest.NewRecorder()
				l.ServeHTTP(w, httptest.NewRequest("GET", "/mop_customer.php?"+c.q, nil))
				if w.Code != c.status {
					t.Errorf("mop_customer.php?%s: %d, want %d", c.q, w.Code, c.status)
				}
			}
		})
	}
}

// TestLoginServerStarted drives a started server over the network, as the
// bridge's SSO endpoint does.
func TestLoginServerStarted(t *testing.T) {
	l := NewLoginServer(LoginOptions{DBName: "tt_acme", User: "u", Password: "p"})
	base, err := l.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.LoginURL() != base+"/login" || l.DBName() != "tt_acme" {
		t.Errorf("LoginURL %s DBName %s", l.LoginURL(), l.DBName())
	}
	req, _ := http.NewRequest("POST", l.LoginURL(), strings.NewReader("dbName=tt_acme&fname=A"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "sessionId=") || len(l.Sessions()) != 1 {
		t.Fatalf("%d %q, %d sessions", resp.StatusCode, b, len(l.Sessions()))
	}
	resp, err = http.Get(base + "/mop_customer.php?dbName=tt_acme&sessionid=" + strings.TrimPrefix(string(b), "sessionId="))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("mop_customer.php: %d", resp.StatusCode)
	}
}

func FuzzLoginForm(f *testing.F) {
	f.Add([]byte(loginForm.Encode()))
	f.Add([]byte("dbName=x&birthday=31%2F12%2F1999"))
	f.Add([]byte("dbName=%zz"))
	f.Add([]byte("dbName=a;fname=b"))
	f.Add([]byte("dbName=a&dbName=b"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ParseLoginForm(body)
		if err != nil {
			if fields != nil {
				t.Fatal("fields with an error")
			}
			for k, vs := range loginForm {
				if len(vs[0]) > 3 && strings.Contains(err.Error(), vs[0]) && strings.Contains(string(body), vs[0]) && k != "dbName" {
					t.Fatalf("the error repeats a value: %v", err)
				}
			}
			return
		}
		if fields["dbName"] == "" {
			t.Fatal("no dbName")
		}
		for k, v := range fields {
			if len([]rune(v)) > MaxLoginField || !slices.Contains(loginFields, k) {
				t.Fatalf("field %q of %d characters accepted", k, len(v))
			}
		}
	})
}
