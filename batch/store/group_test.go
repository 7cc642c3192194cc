package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestGroupCommit: concurrent InTx calls on SQLite share commits, and
// each call still succeeds or fails alone: a failing or panicking member
// leaves nothing behind while the members committed with it stay.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// A slow first member keeps the writer busy while the others queue,
	// so they commit as one group.
	release := make(chan struct{})
	slow := make(chan error, 1)
	go func() {
		slow <- s.InTx(ctx, func(tx *Tx) error {
			<-release
			_, _, err := tx.PutResource(ctx, "Patient", "slow", []byte(`{"resourceType":"Patient"}`))
			return err
		})
	}()
	const n = 24
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			errs[i] = s.InTx(ctx, func(tx *Tx) error {
				id := fmt.Sprintf("p%d", i)
				if _, _, err := tx.PutResource(ctx, "Patient", id, []byte(`{"resourceType":"Patient"}`)); err != nil {
					return err
				}
				if _, err := tx.ClaimIdentifier(ctx, "Patient", "urn:mrn", id, id); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return errBoom
				case 2:
					if i == 2 {
						panic("member panicked")
					}
				}
				return nil
			})
		}()
	}
	time.Sleep(200 * time.Millisecond) // let the 24 queue behind the slow one
	close(release)
	wg.Wait()
	if err := <-slow; err != nil {
		t.Fatalf("slow member: %v", err)
	}
	for i := range n {
		id := fmt.Sprintf("p%d", i)
		_, _, getErr := s.GetResource(ctx, "Patient", id)
		switch {
		case i == 2:
			if panics[i] != "member panicked" {
				t.Errorf("member %d: panic %v, want it re-raised in the caller", i, panics[i])
			}
			if !errors.Is(getErr, ErrNotFound) {
				t.Errorf("member %d panicked but its write stayed (%v)", i, getErr)
			}
		case i%4 == 1:
			if !errors.Is(errs[i], errBoom) {
				t.Errorf("member %d: %v, want its own error", i, errs[i])
			}
			if !errors.Is(getErr, ErrNotFound) {
				t.Errorf("member %d failed but its write stayed (%v)", i, getErr)
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("member %d: %v %v, want success", i, errs[i], panics[i])
			}
			if getErr != nil {
				t.Errorf("member %d succeeded but its write is missing: %v", i, getErr)
			}
		}
	}
	groups, members := s.group.groups.Load(), s.group.members.Load()
	if members != n+1 || groups >= members {
		t.Errorf("%d members in %d groups: want %d members sharing commits", members, groups, n+1)
	}
	t.Logf("%d members committed in %d groups", members, groups)

	// After Close, InTx answers ErrUnavailable instead of hanging.
	s.Close()
	if err := s.InTx(ctx, func(tx *Tx) error { return nil }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("InTx after Close: %v, want ErrUnavailable", err)
	}
}
