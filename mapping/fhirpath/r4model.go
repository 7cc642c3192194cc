package fhirpath

import (
	"strings"
	"sync"

	"github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	_ "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto" // registers every R4 resource
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// r4Package is the protobuf package of google/fhir's R4 core model.
const r4Package = "google.fhir.r4.core"

// r4Elem is one element of an R4 type as FHIRPath sees it.
type r4Elem struct {
	typ    string // FHIR type name ("string", "Period", "Appointment.Participant"); "" for a choice or any Resource
	many   bool   // 0..*
	choice bool   // a FHIR JSON name of one choice alternative (valueQuantity)
}

// r4Type is one R4 resource, datatype or backbone element.
type r4Type struct {
	primitive bool
	elems     map[string]r4Elem
	names     []string // element names, for suggestions
}

// R4 is the R4 type model reflected from google/fhir's message
// descriptors, built once on first use.
var r4Model = sync.OnceValue(buildR4)

// buildR4 reflects every message of the R4 core package into a table of
// FHIR types and their elements (in FHIR JSON names).
func buildR4() map[string]*r4Type {
	m := map[string]*r4Type{}
	protoregistry.GlobalFiles.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		if f.Package() != r4Package {
			return true
		}
		msgs := f.Messages()
		for i := 0; i < msgs.Len(); i++ {
			addR4(m, msgs.Get(i))
		}
		return true
	})
	return m
}

// addR4 adds md and its nested backbone elements to m.
func addR4(m map[string]*r4Type, md protoreflect.MessageDescriptor) {
	name := r4Name(md)
	if name == "" || name == "ContainedResource" || (name == "code" && md.FullName() != r4Package+".Code") || isChoice(md) {
		return
	}
	if _, ok := m[name]; ok || md.Fields().Len() == 0 {
		return // seen, or a value set's enumeration holder
	}
	t := &r4Type{elems: map[string]r4Elem{}}
	m[name] = t
	if sdKind(md) == annotations_go_proto.StructureDefinitionKindValue_KIND_PRIMITIVE_TYPE {
		t.primitive = true
		t.add("id", r4Elem{typ: "string"})
		t.add("extension", r4Elem{typ: "Extension", many: true})
		return
	}
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		fd := fs.Get(i)
		el := r4Elem{many: fd.Cardinality() == protoreflect.Repeated}
		sub := fd.Message()
		if sub == nil {
			continue
		}
		switch {
		case sub.FullName() == "google.protobuf.Any":
			el.typ = "" // contained: any Resource
		case isChoice(sub):
			// FHIRPath names the choice (value); FHIR JSON names each
			// alternative (valueString, valueQuantity…), both accepted.
			cf := sub.Fields()
			for j := 0; j < cf.Len(); j++ {
				alt := cf.Get(j)
				suffix := alt.JSONName()
				t.add(fd.JSONName()+strings.ToUpper(suffix[:1])+suffix[1:], r4Elem{typ: r4Name(alt.Message()), many: el.many, choice: true})
			}
		default:
			el.typ = r4Name(sub)
			if sub.Parent() == md {
				addR4(m, sub)
			}
		}
		t.add(fd.JSONName(), el)
	}
	ms := md.Messages()
	for i := 0; i < ms.Len(); i++ {
		addR4(m, ms.Get(i))
	}
}

func (t *r4Type) add(name string, el r4Elem) {
	if _, ok := t.elems[name]; !ok {
		t.names = append(t.names, name)
	}
	t.elems[name] = el
}

// sdKind reads the structure definition kind annotation of md.
func sdKind(md protoreflect.MessageDescriptor) annotations_go_proto.StructureDefinitionKindValue {
	v, _ := proto.GetExtension(md.Options(), annotations_go_proto.E_StructureDefinitionKind).(annotations_go_proto.StructureDefinitionKindValue)
	return v
}

// isChoice says whether md is a choice type wrapper (value[x]).
func isChoice(md protoreflect.MessageDescriptor) bool {
	v, _ := proto.GetExtension(md.Options(), annotations_go_proto.E_IsChoiceType).(bool)
	return v
}

// r4Name is the FHIR type name of md: "Patient", "Period", "string",
// "dateTime", "Appointment.Participant"; coded enumerations are "code".
func r4Name(md protoreflect.MessageDescriptor) string {
	full := string(md.FullName())
	if !strings.HasPrefix(full, r4Package+".") {
		return ""
	}
	if v := md.Fields().ByName("value"); v != nil && v.Kind() == protoreflect.EnumKind {
		return "code"
	}
	name := strings.TrimPrefix(full, r4Package+".")
	if sdKind(md) == annotations_go_proto.StructureDefinitionKindValue_KIND_PRIMITIVE_TYPE && !strings.Contains(name, ".") {
		return strings.ToLower(name[:1]) + name[1:]
	}
	return name
}

// suggest returns the name in names nearest to s by edit distance, or ""
// when none is near enough to be a likely misspelling.
func suggest(s string, names []string) string {
	best, bestD := "", len(s)/2+2
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Damerau (optimal string alignment) distance of a and b.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// R4Known reports whether R4 defines the type t (a resource, datatype or
// backbone element such as "Appointment.Participant").
func R4Known(t string) bool {
	_, ok := r4Model()[t]
	return ok
}

// R4Element returns the type of the element name (FHIR JSON name, e.g.
// "start", "valueQuantity") of the R4 type t; elem is "" for a choice or
// any Resource. When R4 does not define it, ok is false and suggestion is
// the nearest element name of t ("" when none is near). A t the model
// does not know accepts every name.
func R4Element(t, name string) (elem, suggestion string, ok bool) {
	rt := r4Model()[t]
	if rt == nil {
		return "", "", true
	}
	if el, found := rt.elems[name]; found {
		return el.typ, "", true
	}
	if name == "resourceType" && !strings.Contains(t, ".") && !rt.primitive {
		return "", "", true
	}
	return "", suggest(name, rt.names), false
}
