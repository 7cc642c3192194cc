package simkit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fixture serves a Handler over a route that records what it applied and
// echoes the body length.
type fixture struct {
	h       *Handler
	srv     *httptest.Server
	applied chan string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	done := make(chan struct{})
	f := &fixture{applied: make(chan string, 16)}
	f.h = &Handler{
		Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			f.applied <- r.Method + " " + r.URL.Path
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, "%d", len(b))
		}),
		Faults: &Faults{},
		Log:    &Log{},
		Error: func(w http.ResponseWriter, f Fault) {
			w.WriteHeader(f.Status)
			fmt.Fprintf(w, "vendor error: %s", f.Message)
		},
		Now:  func() time.Time { return time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC) },
		Done: done,
	}
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(func() { close(done); f.srv.Close() })
	return f
}

// appliedCount drains and counts the requests Next served.
func (f *fixture) appliedCount() int {
	n := 0
	for {
		select {
		case <-f.applied:
			n++
		default:
			return n
		}
	}
}

func TestHandlerFaults(t *testing.T) {
	const body = `{"name":"Jane Doe","birthDate":"1970-01-01"}`
	sum := sha256.Sum256([]byte(body))
	bodySum := hex.EncodeToString(sum[:])
	cases := []struct {
		name        string
		fault       *Fault
		client      time.Duration // client timeout; 0 none
		wantErr     bool
		wantCode    int
		wantBody    string
		wantHeader  string // Retry-After
		wantApplied int
		wantLog     Request
	}{
		{name: "none", wantCode: 201, wantBody: "44", wantApplied: 1,
			wantLog: Request{Status: 201}},
		{name: "status", fault: &Fault{Status: 503, Message: "down", RetryAfter: "7"},
			wantCode: 503, wantBody: "vendor error: down", wantHeader: "7",
			wantLog: Request{Status: 503, Fault: "status"}},
		{name: "status after delay", fault: &Fault{Status: 429, Delay: 20 * time.Millisecond},
			wantCode: 429, wantBody: "vendor error: ",
			wantLog: Request{Status: 429, Fault: "status"}},
		{name: "delay", fault: &Fault{Delay: 20 * time.Millisecond},
			wantCode: 201, wantBody: "44", wantApplied: 1,
			wantLog: Request{Status: 201, Fault: "delay"}},
		{name: "delay past the client's patience", fault: &Fault{Delay: time.Minute}, client: 50 * time.Millisecond,
			wantErr: true, wantLog: Request{Fault: "delay"}},
		{name: "reset", fault: &Fault{Reset: true},
			wantErr: true, wantLog: Request{Fault: "reset"}},
		{name: "timeout after commit", fault: &Fault{TimeoutAfterCommit: true, Delay: 10 * time.Millisecond},
			wantErr: true, wantApplied: 1, wantLog: Request{Status: 201, Fault: "timeout-after-commit"}},
		{name: "other method", fault: &Fault{Method: "GET", Status: 500},
			wantCode: 201, wantBody: "44", wantApplied: 1, wantLog: Request{Status: 201}},
		{name: "other path", fault: &Fault{Path: "/other/*", Status: 500},
			wantCode: 201, wantBody: "44", wantApplied: 1, wantLog: Request{Status: 201}},
		{name: "matching pattern", fault: &Fault{Method: "post", Path: "/patients/*/appointments", Status: 409},
			wantCode: 409, wantBody: "vendor error: ", wantLog: Request{Status: 409, Fault: "status"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			if c.fault != nil {
				f.h.Faults.Inject(*c.fault)
			}
			client := &http.Client{Timeout: c.client, Transport: &http.Transport{DisableKeepAlives: true}}
			resp, err := client.Post(f.srv.URL+"/patients/p1/appointments", "application/json", strings.NewReader(body))
			if c.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("answered %d, want a broken connection", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.wantCode || string(b) != c.wantBody || resp.Header.Get("Retry-After") != c.wantHeader {
					t.Fatalf("got %d %q Retry-After %q, want %d %q %q", resp.StatusCode, b, resp.Header.Get("Retry-After"), c.wantCode, c.wantBody, c.wantHeader)
				}
			}
			log := waitLog(t, f.h.Log, 1)
			want := c.wantLog
			want.Time = f.h.Now()
			want.Method = "POST"
			want.Path = "/patients/p1/appointments"
			want.BodySHA256 = bodySum
			if log[0] != want {
				t.Errorf("log %+v, want %+v", log[0], want)
			}
			if got := f.appliedCount(); got != c.wantApplied {
				t.Errorf("applied %d times, want %d", got, c.wantApplied)
			}
		})
	}
}

// waitLog waits for n entries: a broken connection reaches the client
// before the handler returns.
func waitLog(t *testing.T, l *Log, n int) []Request {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := l.Requests(); len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("log has %d entries, want %d", len(got), n)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFaultsTimes(t *testing.T) {
	cases := []struct {
		name  string
		times int
		want  []bool // whether each of five requests takes the fault
	}{
		{name: "once", times: 1, want: []bool{true, false, false, false, false}},
		{name: "three", times: 3, want: []bool{true, true, true, false, false}},
		{name: "unlimited", times: 0, want: []bool{true, true, true, true, true}},
		{name: "negative is unlimited", times: -1, want: []bool{true, true, true, true, true}},
	}
	r := httptest.NewRequest("GET", "/x", nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fs Faults
			fs.Inject(Fault{Path: "/x", Status: 500, Times: c.times})
			for i, want := range c.want {
				if _, ok := fs.Take(r); ok != want {
					t.Fatalf("request %d took a fault: %v, want %v", i+1, ok, want)
				}
			}
			fs.Clear()
			if _, ok := fs.Take(r); ok {
				t.Fatal("a fault survived Clear")
			}
		})
	}
}

func TestFaultsOrder(t *testing.T) {
	var fs Faults
	fs.Inject(Fault{Path: "/x", Status: 503, Times: 1})
	fs.Inject(Fault{Status: 500})
	r := httptest.NewRequest("GET", "/x", nil)
	for i, want := range []int{503, 500, 500} {
		if f, _ := fs.Take(r); f.Status != want {
			t.Fatalf("request %d: status %d, want %d", i+1, f.Status, want)
		}
	}
}

func TestLogNeverHoldsBody(t *testing.T) {
	const secret = "Jane-Doe-1970-01-01"
	f := newFixture(t)
	f.h.EscapedPath = true
	f.h.Faults.Inject(Fault{Method: "PUT", Status: 400, Times: 1})
	for _, m := range []string{"POST", "PUT"} {
		req, _ := http.NewRequest(m, f.srv.URL+"/p%2F1", strings.NewReader(secret))
		req.Header.Set("Authorization", "Basic "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for _, e := range waitLog(t, f.h.Log, 2) {
		if s := fmt.Sprintf("%#v", e); strings.Contains(s, secret) {
			t.Errorf("log entry holds the body or a header: %s", s)
		}
		if e.Path != "/p%2F1" || e.BodySHA256 == "" {
			t.Errorf("entry %+v: want the escaped path and a body hash", e)
		}
	}
}

func TestMaxBody(t *testing.T) {
	f := newFixture(t)
	f.h.MaxBody = 4
	resp, err := http.Post(f.srv.URL+"/x", "text/plain", strings.NewReader("0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "4" {
		t.Fatalf("Next read %s bytes, want 4", b)
	}
}
