package ledger

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
)

// TestRecordedOnce: an inbound file (path, size, hash, generation) is
// recorded once, a duplicate too; a new generation, a file without a
// hash and an export are recorded again; a checkpoint is carried on only from
// where it stands. On SQLite and PostgreSQL.
func TestRecordedOnce(t *testing.T) {
	run := func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		in := Entry{Direction: In, Job: "cancel", Path: "c.csv", Size: 10, SHA256: "aa", Outcome: OutcomeInProgress, Line: 5}
		rec := func(e Entry) (int64, error) {
			var id int64
			err := st.InTx(ctx, func(tx *store.Tx) error {
				var err error
				id, err = Record(ctx, tx, e)
				return err
			})
			return id, err
		}
		id, err := rec(in)
		if err != nil {
			t.Fatal(err)
		}
		again := in
		again.Outcome = OutcomeOK
		tooBig := Entry{Direction: In, Job: "cancel", Path: "big.csv", Size: 1 << 40, Outcome: OutcomeFailed}
		out := Entry{Direction: Out, Job: "export", Path: "e.csv", Size: 3, SHA256: "aa", Outcome: OutcomeOK}
		dup := Entry{Direction: In, Job: "cancel", Path: "d.csv", Size: 10, SHA256: "aa", Outcome: OutcomeDuplicate}
		gen1 := in
		gen1.Generation = 1
		dup1 := dup
		dup1.Generation = 1
		cases := []struct {
			name string
			e    Entry
			want error
		}{
			{"the same file again", again, ErrRecorded},
			{"its next generation", gen1, nil},
			{"too large, no hash", tooBig, nil},
			{"too large again", tooBig, nil},
			{"an export", out, nil},
			{"the same export again", out, nil},
			{"a duplicate", dup, nil},
			{"the duplicate again", dup, ErrRecorded},
			{"the duplicate's next generation", dup1, nil},
		}
		for _, c := range cases {
			if _, err := rec(c.e); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		update := func(e Entry, from int) error {
			return st.InTx(ctx, func(tx *store.Tx) error { return Update(ctx, tx, e, from) })
		}
		next := in
		next.ID, next.Line = id, 9
		if err := update(next, 5); err != nil {
			t.Fatalf("update from the checkpoint: %v", err)
		}
		if err := update(next, 5); !errors.Is(err, ErrRecorded) {
			t.Errorf("update from a stale checkpoint: %v, want ErrRecorded", err)
		}
		err = st.InTx(ctx, func(tx *store.Tx) error {
			g, err := NextGeneration(ctx, tx, "cancel", "c.csv", 10, "aa")
			if err == nil && g != 2 {
				err = fmt.Errorf("next generation %d, want 2", g)
			}
			return err
		})
		if err != nil {
			t.Error(err)
		}
	}
	storetest.Each(t, "ledger_once", run)
}
