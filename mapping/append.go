package mapping

import "github.com/fhirbridge/fhirbridge/fhir"

// Several each fields of one fields list may share a target: the array is
// then the concatenation of their elements, in the order the fields are
// written. A transaction Bundle built from a message needs this: its
// entry array holds one entry per segment of several kinds (a Patient per
// PID, a Practitioner per AIP, a Location per AIL), each kind with its own
// fields.

// canAppend reports whether node nd may share the target of the earlier
// node prev: both must be each fields with the same target path.
func canAppend(prev, nd *node) bool {
	return prev.kind == kEach && nd.kind == kEach && prev.key == nd.key
}

// appendItems appends the elements of v (the array node n produced) to
// the array an earlier field left at n's target in obj. It returns false
// when there is none, so that v is stored as usual.
func appendItems(obj *fhir.Value, n *node, v *fhir.Value) bool {
	if v.Kind != fhir.Array {
		return false
	}
	prev := obj.Get(n.key)
	if n.path != nil {
		prev = lookupPath(obj, n.path)
	}
	if prev == nil || prev.Kind != fhir.Array {
		return false
	}
	prev.Items = append(prev.Items, v.Items...)
	return true
}

// lookupPath returns the value at path under obj, or nil.
func lookupPath(obj *fhir.Value, path []pathSeg) *fhir.Value {
	cur := obj
	for _, seg := range path {
		if cur == nil {
			return nil
		}
		if seg.index < 0 {
			if cur.Kind != fhir.Object {
				return nil
			}
			cur = cur.Get(seg.name)
			continue
		}
		if cur.Kind != fhir.Array || seg.index >= len(cur.Items) {
			return nil
		}
		cur = cur.Items[seg.index]
	}
	return cur
}
