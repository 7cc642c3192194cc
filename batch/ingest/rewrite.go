package ingest

import "github.com/fhirbridge/fhirbridge/fhir"

// rewrite returns v with every Reference.reference that names a fullUrl of
// the same transaction replaced by the Type/id assigned to it. Unchanged
// subtrees are shared, changed ones copied: v itself is never modified.
func rewrite(v *fhir.Value, refs map[string]string) *fhir.Value {
	if len(refs) == 0 || v == nil {
		return v
	}
	switch v.Kind {
	case fhir.Object:
		var out *fhir.Value
		for i, m := range v.Members {
			nv := m.Value
			if m.Key == "reference" && m.Value.Kind == fhir.String {
				if to, ok := refs[m.Value.Str]; ok {
					nv = fhir.NewString(to)
				}
			} else {
				nv = rewrite(m.Value, refs)
			}
			if nv != m.Value && out == nil {
				out = &fhir.Value{Kind: fhir.Object, Members: append([]fhir.Member(nil), v.Members...)}
			}
			if out != nil {
				out.Members[i].Value = nv
			}
		}
		if out != nil {
			return out
		}
	case fhir.Array:
		var out *fhir.Value
		for i, it := range v.Items {
			nv := rewrite(it, refs)
			if nv != it && out == nil {
				out = &fhir.Value{Kind: fhir.Array, Items: append([]*fhir.Value(nil), v.Items...)}
			}
			if out != nil {
				out.Items[i] = nv
			}
		}
		if out != nil {
			return out
		}
	}
	return v
}

// withID returns a copy of the resource's top level with id set (placed
// after resourceType when absent).
func withID(v *fhir.Value, id string) *fhir.Value {
	out := &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 0, len(v.Members)+1)}
	set := false
	for _, m := range v.Members {
		if m.Key == "id" {
			m.Value, set = fhir.NewString(id), true
		}
		out.Members = append(out.Members, m)
		if m.Key == "resourceType" && v.Get("id") == nil {
			out.Members = append(out.Members, fhir.Member{Key: "id", Value: fhir.NewString(id)})
			set = true
		}
	}
	if !set {
		out.Members = append(out.Members, fhir.Member{Key: "id", Value: fhir.NewString(id)})
	}
	return out
}
