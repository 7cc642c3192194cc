package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

func TestLedger(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries := []Entry{
		{Direction: In, Job: "cancel", Path: "c1.csv", SHA256: "aa", RowsOK: 3, Outcome: OutcomeOK},
		{Direction: In, Job: "cancel", Path: "c2.csv", SHA256: "bb", Outcome: OutcomeFailed},
		{Direction: Out, Job: "export", Path: "e.csv", SHA256: "aa", RowsOK: 7, Outcome: OutcomeOK},
		{Direction: In, Job: "cancel", Path: "c1.csv", SHA256: "cc", RowsOK: 1, RowsFailed: 1, Outcome: OutcomePartial, Detail: "1 row refused: line 3"},
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range entries {
			if _, err := Record(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		cases := []struct {
			name     string
			get      func() (Entry, error)
			wantPath string
			wantHash string
		}{
			{"hash of a processed file", func() (Entry, error) { return ByHash(ctx, tx, In, "cancel", "aa") }, "c1.csv", "aa"},
			{"failed content is not processed", func() (Entry, error) { return ByHash(ctx, tx, In, "cancel", "bb") }, "", ""},
			{"other direction", func() (Entry, error) { return ByHash(ctx, tx, Out, "cancel", "aa") }, "", ""},
			{"latest entry of a path", func() (Entry, error) { return ByPath(ctx, tx, In, "cancel", "c1.csv") }, "c1.csv", "cc"},
		}
		for _, c := range cases {
			e, err := c.get()
			if c.wantPath == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("%s: %+v, %v; want ErrNotFound", c.name, e, err)
				}
				continue
			}
			if err != nil || e.Path != c.wantPath || e.SHA256 != c.wantHash {
				t.Errorf("%s: %+v, %v; want %s %s", c.name, e, err, c.wantPath, c.wantHash)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all, err := List(ctx, st, Filter{Direction: In})
	if err != nil || len(all) != 3 || all[0].Outcome != OutcomePartial || all[0].Detail == "" {
		t.Errorf("List(in) = %+v, %v; want 3 entries, newest first", all, err)
	}
	if len(all) == 3 {
		if e, err := Get(ctx, st, all[1].ID); err != nil || e != all[1] {
			t.Errorf("Get(%d) = %+v, %v; want %+v", all[1].ID, e, err, all[1])
		}
		if _, err := Get(ctx, st, 9999); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(9999): %v, want ErrNotFound", err)
		}
		page, err := List(ctx, st, Filter{Direction: In, Before: all[0].ID, Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != all[1].ID {
			t.Errorf("List(in, before %d, 1) = %+v, %v; want the second newest", all[0].ID, page, err)
		}
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		_, err := Record(ctx, tx, Entry{Direction: "sideways", Job: "x", Path: "p"})
		return err
	})
	if err == nil {
		t.Error("Record accepted an unknown direction")
	}
}
