package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckpointer checks that committed pages reach the database file
// while the store is open: its connections never checkpoint inside COMMIT
// (wal_autocheckpoint(0)), so only the checkpointer copies them.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fhirbridge.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := fileSize(t, path)
	filler := strings.Repeat("x", 4000)
	for i := range 200 {
		body := []byte(fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","text":{"div":"%s"}}`, i, filler))
		if err := s.InTx(ctx, func(tx *Tx) error {
			_, _, err := tx.PutResource(ctx, "Patient", fmt.Sprintf("p%d", i), body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// 200 versions of 4 KB: at least 800 KB must reach the database file
	for deadline := time.Now().Add(20 * checkpointEvery); fileSize(t, path) < before+800<<10; time.Sleep(checkpointEvery / 2) {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes, was %d before 800 KB of commits: no checkpoint", fileSize(t, path), before)
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
