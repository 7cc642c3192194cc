package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// putIfMatch stores body under typ/id in its own transaction, conditioned
// on version ifMatch.
func putIfMatch(t *testing.T, s *Store, typ, id, body string, ifMatch int) (int, error) {
	t.Helper()
	v, err := fhir.Decode([]byte(body), fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var version int
	var at time.Time
	err = s.InTx(context.Background(), func(tx *Tx) error {
		var err error
		version, _, at, err = tx.PutValueIfMatch(context.Background(), typ, id, v, ifMatch)
		return err
	})
	if err == nil {
		// at is when the current version was stored, changed or not
		if stored, rerr := s.ReadVersion(context.Background(), typ, id, version); rerr != nil || !stored.At.Equal(at) {
			t.Errorf("PutValueIfMatch %s/%s: at %v, but version %d was stored at %v (%v)", typ, id, at, version, stored.At, rerr)
		}
	}
	return version, err
}

func testPutIfMatch(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, err := putIfMatch(t, s, "Patient", "p1", `{"resourceType":"Patient","id":"p1"}`, 1); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("If-Match on a missing resource: %v, want ErrPreconditionFailed", err)
	}
	if _, _, err := s.GetResource(ctx, "Patient", "p1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused conditional create stored something: %v", err)
	}
	if v, err := putIfMatch(t, s, "Patient", "p1", `{"resourceType":"Patient","id":"p1","gender":"male"}`, 0); err != nil || v != 1 {
		t.Fatalf("unconditional put: %d, %v", v, err)
	}
	tests := []struct {
		name    string
		ifMatch int
		gender  string
		want    int
		wantErr error
	}{
		{"stale version", 7, "female", 0, ErrPreconditionFailed},
		{"current version", 1, "female", 2, nil},
		{"the version just replaced", 1, "other", 0, ErrPreconditionFailed},
		{"same content at the current version", 2, "female", 2, nil},
		{"new current version", 2, "unknown", 3, nil},
	}
	for _, tc := range tests {
		v, err := putIfMatch(t, s, "Patient", "p1",
			`{"resourceType":"Patient","id":"p1","gender":"`+tc.gender+`"}`, tc.ifMatch)
		if !errors.Is(err, tc.wantErr) || v != tc.want {
			t.Errorf("%s: version %d, err %v; want %d, %v", tc.name, v, err, tc.want, tc.wantErr)
		}
	}
	if _, v, err := s.GetResource(ctx, "Patient", "p1"); err != nil || v != 3 {
		t.Errorf("current version %d, %v; want 3", v, err)
	}
}

// testPutIfMatchRace runs writers conditioned on the same version at once:
// exactly one wins, the others get ErrPreconditionFailed.
func testPutIfMatchRace(t *testing.T, s *Store) {
	if _, err := putIfMatch(t, s, "Patient", "hot", `{"resourceType":"Patient","id":"hot"}`, 0); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = putIfMatch(t, s, "Patient", "hot",
				fmt.Sprintf(`{"resourceType":"Patient","id":"hot","birthDate":"2000-01-%02d"}`, i+1), 1)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrPreconditionFailed):
			t.Errorf("writer %d: %v", i, err)
		}
	}
	hist, err := s.History(context.Background(), "Patient", "hot")
	if won != 1 || err != nil || len(hist) != 2 {
		t.Errorf("%d winners, %d versions (%v); want 1 winner and 2 versions", won, len(hist), err)
	}
}

func testHistoryPage(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tick := 0
	s.now = func() time.Time { tick++; return t0.Add(time.Duration(tick) * time.Second) }
	// a1 v1 @1s, b1 v1 @2s, a1 v2 @3s, b1 v2 @4s, a1 v3 @5s
	for i, put := range []struct{ id, gender string }{
		{"a1", "male"}, {"b1", "male"}, {"a1", "female"}, {"b1", "female"}, {"a1", "other"},
	} {
		if _, _, err := putTx(s, "Patient", put.id,
			[]byte(`{"resourceType":"Patient","id":"`+put.id+`","gender":"`+put.gender+`"}`)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if _, _, err := putTx(s, "Practitioner", "x", []byte(`{"resourceType":"Practitioner","id":"x"}`)); err != nil {
		t.Fatal(err)
	}
	// pages walks a listing two versions at a time and returns "id/version"
	// of every version seen.
	pages := func(q HistoryQuery) []string {
		t.Helper()
		var out []string
		for range 10 {
			q.Limit = 2
			page, err := s.HistoryPage(ctx, q)
			if err != nil {
				t.Fatalf("HistoryPage: %v", err)
			}
			for _, v := range page {
				out = append(out, fmt.Sprintf("%s/%d", v.ID, v.Version.Version))
			}
			if len(page) < 2 {
				return out
			}
			q.After = &page[len(page)-1]
		}
		t.Fatal("paging does not end")
		return nil
	}
	tests := []struct {
		name string
		q    HistoryQuery
		want string
	}{
		{"instance", HistoryQuery{Type: "Patient", ID: "a1"}, "[a1/3 a1/2 a1/1]"},
		{"instance since", HistoryQuery{Type: "Patient", ID: "a1", Since: t0.Add(3 * time.Second)}, "[a1/3 a1/2]"},
		{"type", HistoryQuery{Type: "Patient"}, "[a1/3 b1/2 a1/2 b1/1 a1/1]"},
		{"type since", HistoryQuery{Type: "Patient", Since: t0.Add(4 * time.Second)}, "[a1/3 b1/2]"},
		{"type since the future", HistoryQuery{Type: "Patient", Since: t0.Add(time.Hour)}, "[]"},
	}
	for _, tc := range tests {
		if got := fmt.Sprint(pages(tc.q)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	v, err := s.ReadVersion(ctx, "Patient", "a1", 2)
	if err != nil || v.Version.Version != 2 || !v.At.Equal(t0.Add(3*time.Second)) || string(v.Body) != `{"resourceType":"Patient","id":"a1","gender":"female"}` {
		t.Errorf("ReadVersion a1/2: %+v, %v", v, err)
	}
	if v, err := s.ReadVersion(ctx, "Patient", "a1", 0); err != nil || v.Version.Version != 3 || !v.At.Equal(t0.Add(5*time.Second)) {
		t.Errorf("ReadVersion a1 current: %+v, %v", v, err)
	}
	for _, miss := range []struct {
		id      string
		version int
	}{{"a1", 4}, {"zz", 1}, {"zz", 0}} {
		if _, err := s.ReadVersion(ctx, "Patient", miss.id, miss.version); !errors.Is(err, ErrNotFound) {
			t.Errorf("ReadVersion %s/%d: %v, want ErrNotFound", miss.id, miss.version, err)
		}
	}
	if _, err := s.HistoryPage(ctx, HistoryQuery{Type: "Patient", ID: "zz", Limit: 5}); !errors.Is(err, ErrNotFound) {
		t.Errorf("history of a resource never stored: %v, want ErrNotFound", err)
	}
}
