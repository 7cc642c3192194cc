package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// testDelete: a deletion is a new version marked deleted holding the last
// body; reads answer ErrDeleted (and ErrNotFound), listings skip it, a
// second deletion changes nothing, an unknown resource is ErrNotFound, a
// later put revives the resource as a new version (even with the same
// body), and a deleted resource's identifier can be claimed by another.
func testDelete(t *testing.T, s *Store) {
	ctx := context.Background()
	live := []byte(`{"resourceType":"Appointment","id":"a1","status":"booked","start":"2026-12-01T09:00:00Z","description":"` + canary + `"}`)
	other := []byte(`{"resourceType":"Appointment","id":"a2","status":"booked","start":"2026-12-01T10:00:00Z"}`)
	for id, body := range map[string][]byte{"a1": live, "a2": other} {
		if _, _, err := putTx(s, "Appointment", id, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ClaimIdentifier(ctx, "Appointment", "urn:appt", canary, "a1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	del := func(id string) (int, []byte, error) {
		var v int
		var last []byte
		err := s.InTx(ctx, func(tx *Tx) (err error) {
			v, last, err = tx.DeleteResource(ctx, "Appointment", id)
			return err
		})
		return v, last, err
	}
	v, last, err := del("a1")
	if err != nil || v != 2 || string(last) != string(live) {
		t.Fatalf("DeleteResource = %d, body kept %v, %v; want 2, true, nil", v, string(last) == string(live), err)
	}
	_, gv, err := s.GetResource(ctx, "Appointment", "a1")
	if !errors.Is(err, ErrDeleted) || !errors.Is(err, ErrNotFound) || gv != 2 {
		t.Fatalf("GetResource of a deleted resource = version %d, %v; want 2, ErrDeleted and ErrNotFound", gv, err)
	}
	noCanary(t, err)
	if err := s.InTx(ctx, func(tx *Tx) error {
		_, _, err := tx.GetResource(ctx, "Appointment", "a1")
		if !errors.Is(err, ErrDeleted) {
			return fmt.Errorf("Tx.GetResource: %w, want ErrDeleted", err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "Appointment", "a1")
	if err != nil || len(hist) != 2 {
		t.Fatalf("History = %d versions, %v; want 2", len(hist), err)
	}
	if !hist[0].Deleted || hist[0].Version != 2 || string(hist[0].Body) != string(live) || hist[1].Deleted {
		t.Errorf("History: newest = version %d deleted %v body kept %v, older deleted %v; want 2, true, true, false",
			hist[0].Version, hist[0].Deleted, string(hist[0].Body) == string(live), hist[1].Deleted)
	}
	var ids []string
	if err := s.Current(ctx, "Appointment", func(id string, _ int, _ []byte) error {
		ids = append(ids, id)
		return nil
	}); err != nil || strings.Join(ids, ",") != "a2" {
		t.Errorf("Current = %v, %v; want only a2", ids, err)
	}
	ids = nil
	if err := s.CurrentWhere(ctx, "Appointment", Filter{StartFrom: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC),
		Statuses: []string{"booked"}}, func(id string, _ int, _ []byte) error {
		ids = append(ids, id)
		return nil
	}); err != nil || strings.Join(ids, ",") != "a2" {
		t.Errorf("CurrentWhere = %v, %v; want only a2", ids, err)
	}
	if n, err := s.CountCurrent(ctx, "Appointment"); err != nil || n != 1 {
		t.Errorf("CountCurrent = %d, %v; want 1", n, err)
	}
	if n, err := s.CountIndex(ctx, IndexQuery{Type: "Appointment", IDs: []string{"a1", "a2"}}); err != nil || n != 1 {
		t.Errorf("CountIndex = %d, %v; want 1 (the search skips the deleted one)", n, err)
	}
	indexRows := func() int {
		var n int
		if err := s.db.QueryRow(s.rebind(`SELECT COUNT(*) FROM resource_index WHERE type = ? AND id = ?`), "Appointment", "a1").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := indexRows(); n != 0 {
		t.Errorf("%d index rows of the deleted resource, want none", n)
	}

	// Deleting again changes nothing; an unknown resource is not found.
	if v, last, err := del("a1"); err != nil || v != 2 || last != nil {
		t.Errorf("second DeleteResource = %d, %d bytes, %v; want 2, nil, nil", v, len(last), err)
	}
	if _, _, err := del("nope"); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeleted) {
		t.Errorf("DeleteResource of an unknown resource: %v, want ErrNotFound only", err)
	}

	// The deleted holder's identifier goes to the next claimer.
	var won string
	if err := s.InTx(ctx, func(tx *Tx) (err error) {
		won, err = tx.ClaimIdentifier(ctx, "Appointment", "urn:appt", canary, "a3")
		return err
	}); err != nil || won != "a3" {
		t.Errorf("claiming a deleted resource's identifier: %q, %v; want a3", won, err)
	}

	// A put of the very body deleted revives the resource as version 3.
	v, changed, err := putTx(s, "Appointment", "a1", live)
	if err != nil || v != 3 || !changed {
		t.Fatalf("put after delete = %d, %v, %v; want 3, true, nil", v, changed, err)
	}
	if body, gv, err := s.GetResource(ctx, "Appointment", "a1"); err != nil || gv != 3 || string(body) != string(live) {
		t.Errorf("GetResource after revival = %d, %v", gv, err)
	}
	if n, err := s.CountCurrent(ctx, "Appointment"); err != nil || n != 2 {
		t.Errorf("CountCurrent after revival = %d, %v; want 2", n, err)
	}
	if n := indexRows(); n == 0 {
		t.Errorf("no index rows after revival")
	}
	// A live holder keeps its identifier.
	if err := s.InTx(ctx, func(tx *Tx) (err error) {
		won, err = tx.ClaimIdentifier(ctx, "Appointment", "urn:appt", canary, "a1")
		return err
	}); err != nil || won != "a3" {
		t.Errorf("claiming a live resource's identifier: %q, %v; want a3 (the holder)", won, err)
	}
}

// testDeleteTakeOverRace: of concurrent claimers of an identifier whose
// holder is deleted exactly one takes it over and all see that one.
func testDeleteTakeOverRace(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, _, err := putTx(s, "Patient", "old", []byte(`{"resourceType":"Patient","id":"old"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", canary, "old"); err != nil {
			return err
		}
		_, _, err := tx.DeleteResource(ctx, "Patient", "old")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	winners := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.InTx(ctx, func(tx *Tx) error {
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
}
