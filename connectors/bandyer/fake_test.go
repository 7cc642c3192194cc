package bandyer

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fake is a small Teleconsultation backend following the spec: rooms by
// roomId, the plus-user rule on create, 404 and 401 bodies in the spec's
// words. fail, when set, answers a request first.
type fake struct {
	mu    sync.Mutex
	rooms map[string]*fakeRoom
	n     int
	calls []fakeCall
	plus  map[string]bool
	fail  func(w http.ResponseWriter, r *http.Request) bool
}

type fakeRoom struct {
	number  int
	data    []map[string]any
	deleted bool
}

type fakeCall struct {
	Method, Path, Body, User, Auth string
}

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{rooms: map[string]*fakeRoom{}, plus: map[string]bool{"doctor": true}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fake) requests(method string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func errBody(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{r.Method, r.URL.Path, string(body), r.Header.Get(DefaultUserHeader), r.Header.Get("Authorization")})
	if f.fail != nil && f.fail(w, r) {
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 0 || parts[0] != "teleconsultation" {
		errBody(w, 404, "not found")
		return
	}
	var room *fakeRoom
	if len(parts) > 1 {
		room = f.rooms[parts[1]]
		if room == nil || room.deleted {
			errBody(w, 404, fmt.Sprintf("Room with id %s not found on CRUD", parts[1]))
			return
		}
	}
	switch {
	case r.Method == "POST" && len(parts) == 1:
		var b struct{ Participants json.RawMessage }
		_ = json.Unmarshal(body, &b)
		nr := &fakeRoom{}
		var ids []string
		if json.Unmarshal(b.Participants, &ids) == nil {
			nr.number = len(ids)
			for _, id := range ids {
				nr.data = append(nr.data, map[string]any{"userExternalId": id, "groups": []any{"doctor"}})
			}
		} else {
			var p struct {
				Number int
				Data   []map[string]any
			}
			_ = json.Unmarshal(b.Participants, &p)
			nr.number, nr.data = p.Number, p.Data
		}
		if len(nr.data) == nr.number && !f.hasPlus(nr.data) {
			errBody(w, 400, "Failed POST /teleconsultation: no plus user in room")
			return
		}
		f.n++
		id := fmt.Sprintf("room_%d", f.n)
		f.rooms[id] = nr
		w.WriteHeader(201)
		_ = json.NewEncoder(w).Encode(map[string]string{"roomId": id})
	case r.Method == "PATCH" && len(parts) == 2:
		w.WriteHeader(204)
	case r.Method == "POST" && len(parts) == 4:
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		room.data = append(room.data, p)
		w.WriteHeader(201)
	case r.Method == "DELETE" && len(parts) == 2:
		room.deleted = true
		w.WriteHeader(204)
	case r.Method == "GET" && len(parts) == 2:
		user := r.Header.Get(DefaultUserHeader)
		for _, p := range room.data {
			if p["userExternalId"] == user {
				_ = json.NewEncoder(w).Encode(map[string]any{"bandyerUserId": "b-" + user,
					"accessLinkURL": "https://acme.bandyer.com/eu/direct-rest-call-handler/" + user, "participantsBandyerCall": []any{}})
				return
			}
		}
		errBody(w, 401, "Unauthorized user")
	default:
		errBody(w, 405, "method not allowed")
	}
}

func (f *fake) hasPlus(data []map[string]any) bool {
	for _, p := range data {
		gs, _ := p["groups"].([]any)
		for _, g := range gs {
			if s, _ := g.(string); f.plus[s] {
				return true
			}
		}
	}
	return false
}
