package booking

import (
	"context"
	"sync"
	"testing"

	"github.com/fhirbridge/fhirbridge/connectors/ehr"
)

// tokens is a TokenSource that hands out its list in turn (the last one
// forever) and records invalidations.
type tokens struct {
	mu          sync.Mutex
	list        []string
	invalidated []string
}

func (s *tokens) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.list[0]
	if len(s.list) > 1 {
		s.list = s.list[1:]
	}
	return tok, nil
}

func (s *tokens) Invalidate(tok string) {
	s.mu.Lock()
	s.invalidated = append(s.invalidated, tok)
	s.mu.Unlock()
}

// TestSyncSlotsTokenSource: the slot pull uses the endpoint's token
// source; a 401 renews the token once, a second 401 is "unauthorized".
func TestSyncSlotsTokenSource(t *testing.T) {
	e := newEnv(t, sqliteURL(t), nil)
	f := newFakeEHR(t)
	f.serve([]string{ehrSchedule, slot("e1", "sch-e", "2026-06-01T08:00:00Z", 15, "free")})
	for _, tc := range []struct {
		name  string
		list  []string
		kind  string
		inval int
	}{
		{"fresh token", []string{"tok"}, SyncOK, 0},
		{"expired then renewed", []string{"expired", "tok"}, SyncOK, 1},
		{"refused twice", []string{"wrong"}, SyncUnauthorized, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &tokens{list: tc.list}
			_, err := e.svc.SyncSlotsOnce(context.Background(), &ehr.Endpoint{BaseURL: f.srv.URL + "/fhir", Tokens: src})
			if got := SyncKind(err); got != tc.kind {
				t.Fatalf("kind %s (%v), want %s", got, err, tc.kind)
			}
			if len(src.invalidated) != tc.inval {
				t.Errorf("invalidated %v, want %d", src.invalidated, tc.inval)
			}
		})
	}
}
