package mapping

import (
	"errors"
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// pathSeg is one step of a target path: a member name, or an array index
// when index >= 0.
type pathSeg struct {
	name  string
	index int
}

var errBadPath = errors.New("invalid path; write dotted names and [n] indexes, e.g. coding[0].code")

// parsePath parses a target path such as "cancelationReason.coding[0].code".
func parsePath(s string) ([]pathSeg, error) {
	var out []pathSeg
	for _, part := range strings.Split(s, ".") {
		name := part
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
		}
		if name == "" || strings.ContainsAny(name, "] \t") {
			return nil, errBadPath
		}
		out = append(out, pathSeg{name: name, index: -1})
		rest := part[len(name):]
		for rest != "" {
			end := strings.IndexByte(rest, ']')
			if rest[0] != '[' || end < 2 {
				return nil, errBadPath
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 || n > 1000 {
				return nil, errBadPath
			}
			out = append(out, pathSeg{index: n})
			rest = rest[end+1:]
		}
	}
	return out, nil
}

var errPathConflict = errors.New("target conflicts with another target's shape")

// setPath stores val at path under obj, creating objects and arrays on the
// way; missing array slots are filled with null.
func setPath(obj *fhir.Value, path []pathSeg, val *fhir.Value) error {
	cur := obj
	for i, seg := range path {
		last := i == len(path)-1
		if seg.index < 0 {
			if cur.Kind != fhir.Object {
				return errPathConflict
			}
			if last {
				cur.Set(seg.name, val)
				return nil
			}
			next := cur.Get(seg.name)
			if next == nil {
				next = &fhir.Value{Kind: containerFor(path[i+1])}
				cur.Members = append(cur.Members, fhir.Member{Key: seg.name, Value: next})
			}
			cur = next
			continue
		}
		if cur.Kind != fhir.Array {
			return errPathConflict
		}
		for len(cur.Items) <= seg.index {
			cur.Items = append(cur.Items, &fhir.Value{Kind: fhir.Null})
		}
		if last {
			cur.Items[seg.index] = val
			return nil
		}
		next := cur.Items[seg.index]
		if next.Kind == fhir.Null {
			next = &fhir.Value{Kind: containerFor(path[i+1])}
			cur.Items[seg.index] = next
		}
		cur = next
	}
	return nil
}

// containerFor is the kind of container that holds seg.
func containerFor(seg pathSeg) fhir.Kind {
	if seg.index >= 0 {
		return fhir.Array
	}
	return fhir.Object
}
