package mapjob

import (
	"fmt"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// found is one resource of an input document, with what resolves its
// references, or the error that made it unreadable.
type found struct {
	res   *fhir.Value
	env   fhir.Resolver
	bdl   *fhir.Value // the enclosing Bundle, for %bundle
	where string      // suffix locating it in the document: ": Bundle.entry[3]"
	err   error
}

var noRefs = fhir.ResolverFunc(func(string) *fhir.Value { return nil })

// resources lists the resources of doc: doc itself, or the entries of a
// Bundle (nested Bundles are not expanded: a Bundle is also a resource).
// With strict, doc is validated against R4 first: an invalid resource, a
// Bundle-level problem or any problem in a transaction Bundle (all or
// nothing) fails what it touches, with every issue and its element path.
func resources(doc *fhir.Value, strict bool) []found {
	if doc.Kind != fhir.Object {
		return []found{{err: fmt.Errorf("a %s where a FHIR resource was expected", doc.Kind)}}
	}
	if doc.ResourceType() == "" {
		return []found{{err: fmt.Errorf("no resourceType: not a FHIR resource")}}
	}
	var oo *fhir.OperationOutcome
	if strict {
		oo = fhir.Validate(doc, "")
	}
	if doc.ResourceType() != "Bundle" {
		if oo.HasErrors() {
			return []found{{err: oo}}
		}
		return []found{{res: doc, env: noRefs}}
	}
	b, err := fhir.ParseBundle(doc)
	if err != nil {
		return []found{{err: fmt.Errorf("reading Bundle: %w", err)}}
	}
	var byEntry map[int]*fhir.OperationOutcome
	if oo.HasErrors() {
		var whole *fhir.OperationOutcome
		whole, byEntry = oo.ByEntry()
		if whole != nil || b.Type == "transaction" {
			return []found{{err: fmt.Errorf("%s Bundle refused as a whole: %w", b.Type, oo)}}
		}
	}
	out := make([]found, 0, len(b.Entries))
	for i := range b.Entries {
		e := &b.Entries[i]
		if bad := byEntry[i]; bad != nil {
			out = append(out, found{where: ": " + e.Path(), err: bad})
			continue
		}
		if e.Resource == nil {
			continue
		}
		out = append(out, found{res: e.Resource, env: b.ResolverFor(i), bdl: doc, where: ": " + e.Path()})
	}
	return out
}
