package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// canary is a stand-in patient value that must never appear in an error.
const canary = "CANARY-Zyxwvutsrq"

// harness adapts the conformance suite to one dialect.
type harness struct {
	// newURL returns the URL of a fresh, empty database.
	newURL func(t *testing.T) string
	// breakWrites makes s refuse writes from now on (read-only session).
	breakWrites func(t *testing.T, s *Store)
}

// runConformance checks that a dialect behaves as the package documents.
// Every dialect runs the same cases.
func runConformance(t *testing.T, h harness) {
	open := func(t *testing.T, url string) *Store {
		t.Helper()
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	fresh := func(t *testing.T) *Store { return open(t, h.newURL(t)) }

	t.Run("Versioning", func(t *testing.T) { testVersioning(t, fresh(t)) })
	t.Run("ConcurrentPut", func(t *testing.T) { testConcurrentPut(t, fresh(t)) })
	t.Run("PutIfMatch", func(t *testing.T) { testPutIfMatch(t, fresh(t)) })
	t.Run("PutIfMatchRace", func(t *testing.T) { testPutIfMatchRace(t, fresh(t)) })
	t.Run("HistoryPage", func(t *testing.T) { testHistoryPage(t, fresh(t)) })
	t.Run("Current", func(t *testing.T) { testCurrent(t, fresh(t)) })
	t.Run("Search", func(t *testing.T) { testSearch(t, fresh(t)) })
	t.Run("SearchBackfill", func(t *testing.T) { testSearchBackfill(t, fresh(t)) })
	t.Run("SearchPlan", func(t *testing.T) { testSearchPlan(t, fresh(t)) })
	t.Run("SearchIndex", func(t *testing.T) { testSearchIndex(t, h.newURL(t), open) })
	t.Run("ClaimIdentifierRace", func(t *testing.T) { testClaimRace(t, fresh(t)) })
	t.Run("LinkVendorID", func(t *testing.T) { testLinkVendorID(t, fresh(t)) })
	t.Run("RememberRequest", func(t *testing.T) { testRememberRequest(t, fresh(t)) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, fresh(t)) })
	t.Run("Messages", func(t *testing.T) { testMessages(t, fresh(t)) })
	t.Run("SearchMessages", func(t *testing.T) { testSearchMessages(t, fresh(t)) })
	t.Run("SearchMessagesWindows", func(t *testing.T) { testSearchWindows(t, fresh(t)) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, fresh(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, fresh(t)) })
	t.Run("DeleteTakeOverRace", func(t *testing.T) { testDeleteTakeOverRace(t, fresh(t)) })
	t.Run("ReleaseIdentifier", func(t *testing.T) { testReleaseIdentifier(t, fresh(t)) })
	t.Run("Durability", func(t *testing.T) { testDurability(t, h.newURL(t), open) })
	t.Run("Migrations", func(t *testing.T) { testMigrations(t, h.newURL(t), open) })
	t.Run("Unavailable", func(t *testing.T) {
		s := fresh(t)
		h.breakWrites(t, s)
		_, _, err := putTx(s, "Patient", "ro", []byte(`{"resourceType":"Patient","name":"`+canary+`"}`))
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("write on read-only store: got %v, want ErrUnavailable", err)
		}
		t.Logf("read-only store: %v", err)
		noCanary(t, err)
	})
}

// putTx stores one resource in its own transaction.
func putTx(s *Store, typ, id string, body []byte) (v int, changed bool, err error) {
	err = s.InTx(context.Background(), func(tx *Tx) error {
		v, changed, err = tx.PutResource(context.Background(), typ, id, body)
		return err
	})
	return v, changed, err
}

func noCanary(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("error leaks a patient value: %v", err)
	}
}

func testVersioning(t *testing.T, s *Store) {
	ctx := context.Background()
	v1 := `{"resourceType":"Patient","id":"p1","active":true,"name":[{"family":"A"}]}`
	v1Reordered := "{\n  \"name\": [{\"family\": \"A\"}], \"active\": true,\n  \"id\": \"p1\", \"resourceType\": \"Patient\"}"
	v1WithMeta := `{"resourceType":"Patient","id":"p1","meta":{"versionId":"7","lastUpdated":"2020-01-01T00:00:00Z"},"active":true,"name":[{"family":"A"}]}`
	v2 := `{"resourceType":"Patient","id":"p1","active":false,"name":[{"family":"A"}]}`
	steps := []struct {
		name        string
		body        string
		wantVersion int
		wantChanged bool
	}{
		{"first put", v1, 1, true},
		{"same body", v1, 1, false},
		{"reordered keys and whitespace", v1Reordered, 1, false},
		{"store-owned meta differs", v1WithMeta, 1, false},
		{"content changed", v2, 2, true},
		{"same again", v2, 2, false},
		{"back to first content", v1, 3, true},
	}
	for _, st := range steps {
		v, changed, err := putTx(s, "Patient", "p1", []byte(st.body))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if v != st.wantVersion || changed != st.wantChanged {
			t.Errorf("%s: got (version %d, changed %v), want (%d, %v)", st.name, v, changed, st.wantVersion, st.wantChanged)
		}
	}
	body, v, err := s.GetResource(ctx, "Patient", "p1")
	if err != nil || v != 3 || string(body) != v1 {
		t.Errorf("GetResource = (%s, %d, %v), want (v1, 3, nil)", body, v, err)
	}
	hist, err := s.History(ctx, "Patient", "p1")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	type hv struct {
		Version int
		Body    string
	}
	var got []hv
	for _, h := range hist {
		got = append(got, hv{h.Version, string(h.Body)})
		if h.At.IsZero() || h.At.Location() != time.UTC {
			t.Errorf("version %d: At = %v, want a UTC instant", h.Version, h.At)
		}
	}
	want := []hv{{3, v1}, {2, v2}, {1, v1}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("History (-want +got):\n%s", d)
	}

	notFound := []struct {
		name string
		err  error
	}{
		{"GetResource", func() error { _, _, err := s.GetResource(ctx, "Patient", "nope"); return err }()},
		{"History", func() error { _, err := s.History(ctx, "Patient", "nope"); return err }()},
		{"other type", func() error { _, _, err := s.GetResource(ctx, "Appointment", "p1"); return err }()},
	}
	for _, c := range notFound {
		if !errors.Is(c.err, ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", c.name, c.err)
		}
	}
	for _, bad := range []string{`not json ` + canary, `["` + canary + `"]`, `{"a":"` + canary + `"} trailing`, ``} {
		_, _, err := putTx(s, "Patient", "bad", []byte(bad))
		if !errors.Is(err, ErrInvalidBody) {
			t.Errorf("PutResource(invalid body): got %v, want ErrInvalidBody", err)
		}
		noCanary(t, err)
	}
}

// testConcurrentPut: concurrent writers of one resource serialize; each
// change gets its own version.
func testConcurrentPut(t *testing.T, s *Store) {
	const n = 8
	var wg sync.WaitGroup
	versions := make([]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			versions[i], _, errs[i] = putTx(s, "Patient", "hot", fmt.Appendf(nil, `{"resourceType":"Patient","n":%d}`, i))
		})
	}
	close(start)
	wg.Wait()
	seen := map[int]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		seen[versions[i]] = true
	}
	if len(seen) != n {
		t.Errorf("versions %v: want %d distinct", versions, n)
	}
	hist, err := s.History(context.Background(), "Patient", "hot")
	if err != nil || len(hist) != n || hist[0].Version != n {
		t.Errorf("History: %d versions (newest %v), err %v; want %d", len(hist), hist, err, n)
	}
}

func testClaimRace(t *testing.T, s *Store) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	winners := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.InTx(ctx, func(tx *Tx) error {
				// Look up first, as conditional create does: every caller
				// misses, then all race to claim.
				if _, err := tx.FindByIdentifier(ctx, "Patient", "urn:mrn", canary); !errors.Is(err, ErrNotFound) && err != nil {
					return err
				}
				w, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", canary, fmt.Sprintf("p-%d", i))
				winners[i] = w
				return err
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	if !strings.HasPrefix(winners[0], "p-") {
		t.Fatalf("winner %q is none of the callers", winners[0])
	}
	for i, w := range winners {
		if w != winners[0] {
			t.Errorf("caller %d saw winner %q, caller 0 saw %q", i, w, winners[0])
		}
	}
	var rows int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM identifiers`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("identifier rows = %d (%v), want 1", rows, err)
	}
	var leaked int
	if err := s.db.QueryRow(s.rebind(`SELECT COUNT(*) FROM identifiers WHERE value_hash = ?`), canary).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("identifier value stored in clear (%d rows, %v)", leaked, err)
	}
	err := s.InTx(ctx, func(tx *Tx) error {
		got, err := tx.FindByIdentifier(ctx, "Patient", "urn:mrn", canary)
		if got != winners[0] {
			t.Errorf("FindByIdentifier = %q, want %q", got, winners[0])
		}
		if _, err := tx.FindByIdentifier(ctx, "Patient", "urn:other", canary); !errors.Is(err, ErrNotFound) {
			t.Errorf("FindByIdentifier(other system) = %v, want ErrNotFound", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testCurrent: Current lists the newest version of each resource of one
// type, in id order, and stops at fn's error.
func testCurrent(t *testing.T, s *Store) {
	ctx := context.Background()
	for _, p := range []struct{ typ, id, body string }{
		{"Appointment", "b", `{"resourceType":"Appointment","status":"booked"}`},
		{"Appointment", "a", `{"resourceType":"Appointment","status":"booked"}`},
		{"Appointment", "b", `{"resourceType":"Appointment","status":"cancelled"}`},
		{"Patient", "p", `{"resourceType":"Patient"}`},
	} {
		if _, _, err := putTx(s, p.typ, p.id, []byte(p.body)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.Current(ctx, "Appointment", func(id string, version int, body []byte) error {
		got = append(got, fmt.Sprintf("%s v%d %s", id, version, body))
		return nil
	})
	want := []string{
		`a v1 {"resourceType":"Appointment","status":"booked"}`,
		`b v2 {"resourceType":"Appointment","status":"cancelled"}`,
	}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("Current = %v, %v; want %v", got, err, want)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Current(ctx, "Appointment", func(string, int, []byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Current with a failing fn: %v after %d calls, want stop after 1", err, n)
	}
}
