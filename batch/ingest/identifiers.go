package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// ident is one identifier of a resource, as the identifier index keys it.
type ident struct{ system, value string }

// identifiersOf returns the identifiers of v that the index can hold
// (system and value both set), sorted and without repeats.
func identifiersOf(v *fhir.Value) []ident {
	var out []ident
	if a := v.Get("identifier"); a != nil && a.Kind == fhir.Array {
		for _, it := range a.Items {
			sys, val := it.GetString("system"), it.GetString("value")
			if sys != "" && val != "" {
				out = append(out, ident{sys, val})
			}
		}
	}
	slices.SortFunc(out, func(a, b ident) int {
		if c := strings.Compare(a.system, b.system); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	return slices.Compact(out)
}

// syncIdentifiers keeps the identifier index (behind conditional create,
// update and delete) in step with typ/id, whose version was just stored
// as res, in the transaction that stored it:
//
//   - it claims every identifier res holds, so that one added by a later
//     version (a filler number arriving after the placer's) finds the
//     resource too. The first claim wins: an identifier that another live
//     resource holds stays that resource's (this one is stored all the
//     same, and is not found by it); one held by a deleted resource is
//     taken over ([store.Tx.ClaimIdentifier]).
//   - it releases the claims of id on the identifiers that the version
//     before held and res does not, so that they can move to another
//     resource. Claims this request made for id (claimed: type, system,
//     value → id, such as a conditional update's condition) are kept; so
//     is everything when the version before was pruned.
//
// Claims are made in a fixed order (system, then value) so that two
// transactions claiming the same identifiers do not deadlock.
func syncIdentifiers(ctx context.Context, tx *store.Tx, typ, id string, version int, res *fhir.Value, claimed map[[3]string]string) error {
	cur := identifiersOf(res)
	for _, it := range cur {
		if won, ok := claimed[[3]string{typ, it.system, it.value}]; ok && won == id {
			continue // claimed for this very resource by this request
		}
		if _, err := tx.ClaimIdentifier(ctx, typ, it.system, it.value, id); err != nil {
			return fmt.Errorf("indexing %s identifiers: %w", typ, err)
		}
	}
	if version <= 1 {
		return nil
	}
	body, err := tx.VersionBody(ctx, typ, id, version-1)
	if errors.Is(err, store.ErrNotFound) {
		return nil // pruned: nothing known to release
	}
	if err != nil {
		return fmt.Errorf("indexing %s identifiers: %w", typ, err)
	}
	prev, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("indexing %s identifiers: reading the version before: %w", typ, err)
	}
	for _, it := range identifiersOf(prev) {
		if slices.Contains(cur, it) {
			continue
		}
		if won, ok := claimed[[3]string{typ, it.system, it.value}]; ok && won == id {
			continue
		}
		if _, err := tx.ReleaseIdentifier(ctx, typ, it.system, it.value, id); err != nil {
			return fmt.Errorf("indexing %s identifiers: %w", typ, err)
		}
	}
	return nil
}
