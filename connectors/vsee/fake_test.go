package vsee

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is a small VSee Clinic API following the wire contract: SSO by
// code (idempotent), intakes, visits, walk-ins, e-consults and visit
// lookups; fail makes the next call of a path answer that status.
type fake struct {
	mu      sync.Mutex
	members map[string]string // code → member id
	tokens  map[string]string // token → member id
	visits  map[string]string // visit id → code
	calls   []string
	fail    map[string]int
	hang    map[string]bool // answer never comes (the client times out)
	bodies  map[string][]byte
	n       int
}

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{members: map[string]string{}, tokens: map[string]string{}, visits: map[string]string{},
		fail: map[string]int{}, hang: map[string]bool{}, bodies: map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	key := r.Method + " " + r.URL.Path
	f.calls = append(f.calls, key)
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	raw, _ := json.Marshal(body)
	f.bodies[key] = raw
	if st := f.fail[key]; st != 0 {
		delete(f.fail, key)
		f.mu.Unlock()
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(st)
		_, _ = w.Write([]byte(`{"message":"nope"}`))
		return
	}
	hang := f.hang[key]
	f.n++
	n := f.n
	w.Header().Set("Content-Type", "application/json")
	answer := func(v any) { _ = json.NewEncoder(w).Encode(map[string]any{"data": v}) }
	tokenOK := func() bool {
		t := r.Header.Get("X-ApiToken")
		return f.tokens[t] != "" || t == "admin-token"
	}
	defer f.mu.Unlock()
	switch {
	case key == "POST /users/sso":
		if r.Header.Get("X-ApiKey") != "key" || r.Header.Get("X-ApiSecret") != "secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		code, _ := body["code"].(string)
		if code == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id, ok := f.members[code]
		if !ok {
			id = "m-" + code
			f.members[code] = id
		}
		tok := "tok" + strings.Repeat("x", n)
		f.tokens[tok] = id
		answer(map[string]any{"id": id, "token": map[string]any{"token": tok, "expires": time.Now().Add(time.Hour).Unix()}})
	case !tokenOK():
		w.WriteHeader(http.StatusUnauthorized)
	case key == "POST /intakes":
		answer(map[string]any{"id": "intake-1"})
	case key == "POST /visits", key == "POST /visits/add_walkin", key == "POST /add_econsult":
		id := 67000 + n
		f.visits[jsonNum(id)] = "code" + jsonNum(id)
		if hang {
			f.mu.Unlock()
			time.Sleep(300 * time.Millisecond)
			f.mu.Lock()
			return
		}
		answer(map[string]any{"id": id, "one_time_link_token": "f7gybzjd9o"})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/visits/"):
		id := strings.TrimPrefix(r.URL.Path, "/visits/")
		code, ok := f.visits[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		answer(map[string]any{"id": id, "code": code})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

// count returns how many calls of key the fake saw.
func (f *fake) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == key {
			n++
		}
	}
	return n
}
