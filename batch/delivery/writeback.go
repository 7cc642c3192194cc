package delivery

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// WriteBackSystem is the identifier system under which a vendor's id for a
// resource is written back onto the stored FHIR resource:
// urn:fhirbridge:<vendor>:id (e.g. urn:fhirbridge:solo:id), or the name a
// connector gives in Result.IDName (urn:fhirbridge:bandyer:roomId). Other values
// the vendor returned (Solo's spid, visitUrl) become extensions whose url is
// urn:fhirbridge:<vendor>:<name> with a valueString.
func WriteBackSystem(vendor string) string { return "urn:fhirbridge:" + vendor + ":id" }

// writeBack stores a new version of the delivered resource carrying the
// vendor's id and attributes, so they are visible to anyone reading the
// resource from the bridge. The new version is not routed again. Nothing
// is written when the resource already carries the same values, or when
// it was deleted meanwhile.
func writeBack(ctx context.Context, tx *store.Tx, vendor, typ, id string, res connectors.Result) error {
	if res.VendorID == "" && len(res.Attributes) == 0 {
		return nil
	}
	body, _, err := tx.GetResource(ctx, typ, id)
	if errors.Is(err, store.ErrDeleted) {
		return nil // a write-back never revives a deleted resource
	}
	if err != nil {
		return fmt.Errorf("reading %s for the vendor ids: %w", typ, err)
	}
	v, err := fhir.Decode(body, fhir.DecodeOptions{})
	if err != nil {
		return fmt.Errorf("reading %s for the vendor ids: %w", typ, err)
	}
	out := &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), v.Members...)}
	if res.VendorID != "" {
		sys := WriteBackSystem(vendor)
		if res.IDName != "" {
			sys = "urn:fhirbridge:" + vendor + ":" + res.IDName
		}
		ids := keepOthers(out.Get("identifier"), func(it *fhir.Value) bool { return it.GetString("system") == sys })
		ident := fhir.NewObject()
		ident.Set("system", fhir.NewString(sys))
		ident.Set("value", fhir.NewString(res.VendorID))
		out.Set("identifier", fhir.NewArray(append(ids, ident)...))
	}
	if len(res.Attributes) > 0 {
		prefix := "urn:fhirbridge:" + vendor + ":"
		exts := keepOthers(out.Get("extension"), func(it *fhir.Value) bool {
			u := it.GetString("url")
			return len(u) > len(prefix) && u[:len(prefix)] == prefix
		})
		names := make([]string, 0, len(res.Attributes))
		for k := range res.Attributes {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			e := fhir.NewObject()
			e.Set("url", fhir.NewString(prefix+k))
			e.Set("valueString", fhir.NewString(res.Attributes[k]))
			exts = append(exts, e)
		}
		out.Set("extension", fhir.NewArray(exts...))
	}
	if _, _, err := tx.PutResource(ctx, typ, id, out.JSON()); err != nil {
		return fmt.Errorf("writing the vendor ids onto %s: %w", typ, err)
	}
	return nil
}

// keepOthers returns the items of an array value that drop does not match.
func keepOthers(arr *fhir.Value, drop func(*fhir.Value) bool) []*fhir.Value {
	var out []*fhir.Value
	if arr == nil || arr.Kind != fhir.Array {
		return out
	}
	for _, it := range arr.Items {
		if !drop(it) {
			out = append(out, it)
		}
	}
	return out
}
