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
	where string // suffix locating it in the document: ": Bundle.entry[3]"
	err   error
}

var noRefs = fhir.ResolverFunc(func(string) *fhir.Value { return nil })

// resources lists the resources of doc: doc itself, or the entries of a
// Bundle (nested Bundles are not expanded: a Bundle is also a resource).
func resources(doc *fhir.Value) []found {
	if doc.Kind != fhir.Object {
		return []found{{err: fmt.Errorf("a %s where a FHIR resource was expected", doc.Kind)}}
	}
	if doc.ResourceType() == "" {
		return []found{{err: fmt.Errorf("no resourceType: not a FHIR resource")}}
	}
	if doc.ResourceType() != "Bundle" {
		return []found{{res: doc, env: noRefs}}
	}
	b, err := fhir.ParseBundle(doc)
	if err != nil {
		return []found{{err: fmt.Errorf("reading Bundle: %w", err)}}
	}
	out := make([]found, 0, len(b.Entries))
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Resource == nil {
			continue
		}
		out = append(out, found{res: e.Resource, env: b.ResolverFor(i), where: ": " + e.Path()})
	}
	return out
}
