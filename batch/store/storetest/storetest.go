// Package storetest opens throwaway stores for tests: SQLite stores
// holding given resources, and the same test on SQLite and PostgreSQL.
package storetest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// Open opens a new SQLite store in a temporary folder, stores resources
// (FHIR JSON, each with its id) in one transaction, and closes it when
// the test ends.
func Open(t testing.TB, resources ...string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, s := range resources {
			v, err := fhir.DecodeString(s, fhir.DecodeOptions{})
			if err != nil {
				return err
			}
			if _, _, err := tx.PutValue(ctx, v.ResourceType(), v.GetString("id"), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// dbSeq numbers the PostgreSQL databases Each creates in this process.
var dbSeq atomic.Int64

// Each runs fn twice: as subtest "sqlite" on a new SQLite store, and as
// subtest "postgres" on a new database of the throwaway PostgreSQL
// cluster (skipped with -short or without the server; see pgtest.Skip).
// name prefixes the database's name (letters, digits, underscores). Each
// store is closed when its subtest ends.
func Each(t *testing.T, name string, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "fhirbridge.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			pgtest.Skip(t, "-short")
		}
		url := pgtest.CreateDatabase(t, pgtest.Start(t), fmt.Sprintf("%s_%d", name, dbSeq.Add(1)))
		st, err := store.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}
