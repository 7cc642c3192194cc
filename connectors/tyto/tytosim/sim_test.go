package tytosim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func do(t *testing.T, method, url, body, user, pass string) (int, string, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestFaultsAndLog(t *testing.T) {
	s := New(Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	base := srv.URL + DefaultPrefix
	s.Inject(Fault{Method: "POST", Path: DefaultPrefix + "/stations", Status: 503, RetryAfter: "7", Times: 1})
	s.Inject(Fault{Method: "POST", Path: DefaultPrefix + "/visits", Reset: true, Times: 1}) // a GET on a reused connection would be retried by the client
	s.Inject(Fault{Method: "PUT", Delay: 50 * time.Millisecond, Times: 1})
	if code, body, _ := do(t, "POST", base+"/stations", `{"identifier":"st-1"}`, DefaultUsername, DefaultPassword); code != 503 || !strings.Contains(body, "Service Unavailable") {
		t.Fatalf("status fault: %d %s", code, body)
	}
	if len(s.Stations()) != 0 {
		t.Fatal("a status fault applied the request")
	}
	if _, _, err := do(t, "POST", base+"/visits", `{"identifier":"v-1"}`, DefaultUsername, DefaultPassword); err == nil {
		t.Fatal("reset fault answered")
	}
	start := time.Now()
	if code, _, _ := do(t, "PUT", base+"/clinicians/dr-1", `{}`, DefaultUsername, DefaultPassword); code != 201 || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("delay fault: %d after %s", code, time.Since(start))
	}
	if code, body, _ := do(t, "GET", base+"/stations/st-1", "", DefaultUsername, "bad"); code != 401 || !strings.Contains(body, "not whitelisted") {
		t.Fatalf("401: %d %s", code, body)
	}
	log := s.Requests()
	if len(log) != 4 || log[0].Fault != "status" || log[1].Fault != "reset" || log[2].Status != 201 || log[3].Status != 401 {
		t.Fatalf("log %+v", log)
	}
}
