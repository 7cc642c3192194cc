package delivery

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// seedJobs enqueues n jobs of flow (resource type Patient, ids p-<flow>-i)
// and sets each one's state, attempts and last change with set.
func seedJobs(t *testing.T, st *store.Store, flow string, n int, set func(i int) (State, int, time.Time)) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("p-%s-%d", flow, i)
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return Enqueue(ctx, tx, Job{Flow: flow, ResourceType: "Patient", ResourceID: id, Version: 1})
		}); err != nil {
			t.Fatal(err)
		}
		state, attempts, at := set(i)
		if _, err := st.DB().ExecContext(ctx, st.Rebind(`UPDATE delivery_jobs SET state = ?, attempts = ?, updated_at = ?, created_at = ?
			WHERE flow = ? AND resource_id = ?`), state, attempts, micros(at), micros(at), flow, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrowse: Page walks a filtered selection newest first by key without
// gaps or repeats; CountDead counts what RetryDead then retries, and a
// letter dead after the count is left alone; Stats counts per flow and
// window.
func TestBrowse(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, storeURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	q := NewQueue(st)
	// flow a: 7 dead letters (3 in the last hour), 5 delivered (2 in the
	// last hour, 1 two days ago), 2 pending of which 1 retrying
	seedJobs(t, st, "a", 7, func(i int) (State, int, time.Time) {
		if i < 3 {
			return StateDeadLetter, 5, now.Add(-10 * time.Minute)
		}
		return StateDeadLetter, 5, now.Add(-5 * time.Hour)
	})
	seedJobs(t, st, "a-ok", 5, func(i int) (State, int, time.Time) {
		switch {
		case i < 2:
			return StateDelivered, 1, now.Add(-time.Minute)
		case i < 4:
			return StateDelivered, 1, now.Add(-3 * time.Hour)
		}
		return StateDelivered, 1, now.Add(-48 * time.Hour)
	})
	seedJobs(t, st, "b", 2, func(i int) (State, int, time.Time) {
		return StatePending, i, now.Add(-time.Duration(i+1) * time.Hour)
	})

	t.Run("keyset pages", func(t *testing.T) {
		var seen []int64
		var before int64
		for range 10 {
			page, next, err := q.Page(ctx, Query{Flows: []string{"a", "b"}, Before: before, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range page {
				if len(seen) > 0 && j.ID >= seen[len(seen)-1] {
					t.Fatalf("page order: %d after %d", j.ID, seen[len(seen)-1])
				}
				seen = append(seen, j.ID)
			}
			if next == 0 {
				break
			}
			before = next
		}
		if len(seen) != 9 {
			t.Errorf("paged %d jobs of flows a and b, want 9", len(seen))
		}
		page, _, err := q.Page(ctx, Query{State: StateDeadLetter, Since: now.Add(-time.Hour)})
		if err != nil || len(page) != 3 {
			t.Errorf("dead in the last hour: %d jobs (%v), want 3", len(page), err)
		}
		if _, _, err := q.Page(ctx, Query{Limit: MaxPage + 1}); err == nil {
			t.Error("a page over MaxPage was accepted")
		}
	})

	t.Run("stats", func(t *testing.T) {
		stats, err := q.Stats(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]FlowStats{
			"a":    {Flow: "a", Dead: 7, DeadHour: 3, DeadDay: 7},
			"a-ok": {Flow: "a-ok", DeliveredHour: 2, DeliveredDay: 4},
			"b":    {Flow: "b", Pending: 1, Retrying: 1, OldestPending: time.UnixMicro(micros(now.Add(-2 * time.Hour))).UTC()},
		}
		if len(stats) != len(want) {
			t.Fatalf("stats for %d flows, want %d: %+v", len(stats), len(want), stats)
		}
		for _, s := range stats {
			if s != want[s.Flow] {
				t.Errorf("stats of %s = %+v, want %+v", s.Flow, s, want[s.Flow])
			}
		}
	})

	t.Run("bulk retry", func(t *testing.T) {
		f := Query{Flows: []string{"a"}, Until: now.Add(-time.Hour)}
		sel, err := q.CountDead(ctx, f)
		if err != nil || sel.Count != 4 {
			t.Fatalf("CountDead = %+v, %v; want 4", sel, err)
		}
		// a letter dies after the operator saw the count: not retried
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return Enqueue(ctx, tx, Job{Flow: "a", ResourceType: "Patient", ResourceID: "late", Version: 1})
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, st.Rebind(`UPDATE delivery_jobs SET state = ?, updated_at = ? WHERE resource_id = 'late'`),
			StateDeadLetter, micros(now.Add(-5*time.Hour))); err != nil {
			t.Fatal(err)
		}
		n, err := q.RetryDead(ctx, f, sel.MaxID)
		if err != nil || n != sel.Count {
			t.Fatalf("RetryDead = %d, %v; want %d", n, err, sel.Count)
		}
		left, err := q.CountDead(ctx, Query{Flows: []string{"a"}})
		if err != nil || left.Count != 4 {
			t.Errorf("dead letters left = %+v, %v; want the 3 recent ones and the late one", left, err)
		}
		pending, _, err := q.Page(ctx, Query{Flows: []string{"a"}, State: StatePending})
		if err != nil || len(pending) != 4 {
			t.Fatalf("pending after bulk retry: %d (%v), want 4", len(pending), err)
		}
		if !pending[0].RunAt.After(now.Add(-time.Minute)) {
			t.Errorf("retried job runs at %s, want now", pending[0].RunAt)
		}
	})
}
