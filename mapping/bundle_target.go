package mapping

import (
	"strconv"
	"strings"

	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
	"github.com/goccy/go-yaml/ast"
)

// Targets of a reverse mapping are checked against R4. An element whose
// type is "any Resource" (Bundle.entry.resource, Parameters.parameter.resource,
// Bundle.entry.response.outcome, contained) takes its type from the
// constant `value:` of its resourceType field, written either nested
//
//	- target: resource
//	  fields:
//	    - {target: resourceType, value: Patient}
//	    - {target: name[0].family, from: "v2('PID-5.1')"}
//
// or flat among siblings
//
//	- {target: entry[0].resource.resourceType, value: Patient}
//	- {target: entry[0].resource.name[0].family, from: "v2('PID-5.1')"}
//
// When no such constant is found (or it names no R4 resource), the
// element's content is left unchecked.

// anyResource marks, as a target type, an element holding any resource.
const anyResource = "(resource)"

// resourceSlots lists the R4 elements of type Resource the model gives no
// type ("" like a choice), as type.element; Bundle.entry.resource and
// Bundle.entry.response.outcome come typed ContainedResource.
var resourceSlots = map[string]bool{"Parameters.Parameter.resource": true}

// slotType is the target type reached by element name of type t: the R4
// element type, or anyResource for an element holding any resource.
func slotType(t, name, elem string) string {
	if elem == "ContainedResource" || (elem == "" && (resourceSlots[t+"."+name] || name == "contained")) {
		return anyResource
	}
	return elem
}

// renderPath writes path segments back as target text (a[0].b).
func renderPath(p []pathSeg) string {
	var b strings.Builder
	for i, s := range p {
		if s.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
	}
	return b.String()
}

// constTarget returns the target and the constant `value:` string of a
// field entry, or ok false.
func (c *compiler) constTarget(e ast.Node) (target, value string, ok bool) {
	ps, err := c.pairs(e, "field")
	if err != nil {
		return "", "", false
	}
	for _, kv := range ps {
		switch keyOf(kv) {
		case "target":
			if s, ok := unwrap(kv.Value).(*ast.StringNode); ok {
				target = s.Value
			}
		case "value":
			if s, ok := unwrap(kv.Value).(*ast.StringNode); ok {
				value = s.Value
			}
		}
	}
	return target, value, target != "" && value != ""
}

// resourceTypes scans sibling field entries for constant resourceType
// targets: the key is the target path of the resource element ("" for
// the entries' own resource), the value its R4 type ("" when unknown).
func (c *compiler) resourceTypes(entries []ast.Node) map[string]string {
	var out map[string]string
	for _, e := range entries {
		t, v, ok := c.constTarget(e)
		if !ok || (t != "resourceType" && !strings.HasSuffix(t, ".resourceType")) {
			continue
		}
		p, err := parsePath(t)
		if err != nil {
			continue
		}
		if !fhirpath.R4Known(v) || strings.Contains(v, ".") {
			v = ""
		}
		if out == nil {
			out = map[string]string{}
		}
		out[renderPath(p[:len(p)-1])] = v
	}
	return out
}

// resolveSlot gives the type of a resource element at target prefix key
// among the current siblings; "" (unchecked) when not declared.
func (c *compiler) resolveSlot(key string) string {
	return c.resTypes[key]
}
