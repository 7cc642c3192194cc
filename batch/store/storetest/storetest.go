// Package storetest opens throwaway stores holding given resources, for
// the tests of packages that read what the bridge stored.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
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
