package fhirpath

import (
	"sync"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// Options configures Compile.
type Options struct {
	// Vars lists the names allowed after % besides the built-ins.
	Vars []string
	// Context, when set, is the R4 type of the focus (a resource such as
	// "Appointment", a datatype, or a backbone element such as
	// "Appointment.Participant"): Compile then refuses every path R4 does
	// not define there, with ErrUnknownElement and the nearest valid name.
	Context string
	// Strict, with Context, checks as FHIRPath's strict mode: a type
	// prefix must name the context type, a choice is reached by its name
	// only (value, not valueQuantity), and order-dependent functions
	// (first, skip…) refuse the unordered results of children() and
	// descendants().
	Strict bool
}

// Env is the evaluation environment of one Eval call.
type Env struct {
	Resource *fhir.Value           // %resource / %rootResource
	Vars     map[string]Collection // %name
	Resolver fhir.Resolver         // for resolve(); nil = nothing resolves
	// Arena, when set, supplies the memory of result collections, so that
	// many evaluations over one record allocate almost nothing. Results
	// then live only until Arena.Reset; an Env with an Arena must not be
	// used by two goroutines at once.
	Arena *Arena
	// Message, when set, is the HL7 v2 message the v2 functions read
	// (MessageItem stands for it in a collection).
	Message *hl7v2.Message
}

// Expr is a compiled FHIRPath expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	src  string
	root node
	typ  string // static R4 result type; "" when unknown
}

// Type returns the R4 type the expression yields when Compile could infer
// it from Options.Context ("Period", "Appointment.Participant", "string"),
// or "" when unknown (no context, a choice, any Resource, a System value).
func (e *Expr) Type() string { return e.typ }

// String returns the source text.
func (e *Expr) String() string { return e.src }

// node is one compiled sub-expression.
type node func(c *ctx, focus Collection) (Collection, error)

// ctx is the per-Eval state.
type ctx struct {
	env     *Env
	context Collection // %context
	this    Item
	index   int
	total   Collection
	chunk   []Item // arena for small result slices
	chunks  int    // chunks allocated so far
	depth   int
}

var ctxPool = sync.Pool{New: func() any { return new(ctx) }}

// maxDepth bounds recursion (repeat, descendants, nested calls).
const maxDepth = 200

// Eval evaluates e with input as the focus (%context).
func (e *Expr) Eval(env *Env, input Collection) (Collection, error) {
	if env == nil {
		env = &Env{}
	}
	c := ctxPool.Get().(*ctx)
	*c = ctx{env: env, context: input}
	if len(input) == 1 {
		c.this = input[0]
	}
	out, err := e.root(c, input)
	*c = ctx{}
	ctxPool.Put(c)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// alloc returns a zero-length slice with capacity n carved from the arena.
// Its capacity is capped so appends never clobber a neighbour.
func (c *ctx) alloc(n int) Collection {
	if c.env.Arena != nil {
		return c.env.Arena.alloc(n)
	}
	if n > 32 {
		return make(Collection, 0, n)
	}
	if len(c.chunk)+n > cap(c.chunk) {
		// chunks grow 2, 8, 32 so that simple paths allocate little
		size := 32
		switch c.chunks {
		case 0:
			size = 2
		case 1:
			size = 8
		}
		c.chunks++
		c.chunk = make([]Item, 0, max(size, n))
	}
	l := len(c.chunk)
	c.chunk = c.chunk[:l+n]
	return c.chunk[l : l : l+n]
}

// one returns a collection holding it.
func (c *ctx) one(it Item) Collection {
	out := c.alloc(1)
	return append(out, it)
}

var (
	trueColl  = Collection{Boolean(true)}
	falseColl = Collection{Boolean(false)}
)

func boolColl(b bool) Collection {
	if b {
		return trueColl
	}
	return falseColl
}

// singleton returns the only item of col; ok is false when empty; an error
// when there is more than one.
func singleton(col Collection, what string) (Item, bool, error) {
	switch len(col) {
	case 0:
		return Item{}, false, nil
	case 1:
		return col[0], true, nil
	}
	return Item{}, false, evalError(what + " expects a single item but got a collection")
}

// boolOf reads a collection as a boolean in condition position: empty is
// unknown, a single boolean is itself, any other single item is true.
func boolOf(col Collection, what string) (val, known bool, err error) {
	it, ok, err := singleton(col, what)
	if err != nil || !ok {
		return false, false, err
	}
	if b, ok := it.AsBool(); ok {
		return b, true, nil
	}
	return true, true, nil
}

// children appends the child elements named name of it.
func children(out Collection, it Item, name string) Collection {
	v := it.n
	if v == nil {
		return out
	}
	if v.Kind != fhir.Object {
		if name == "extension" || name == "id" {
			if ext := primitiveExt(it); ext != nil {
				return children(out, Item{n: ext, idx: -1, typ: "Element"}, name)
			}
		}
		return out
	}
	if m, typ := findMember(v, name); m != nil {
		return appendValue(out, v, m, typ)
	}
	return out
}

// findMember finds the member of object v named name, or a choice member
// name+Type, returning the choice's FHIR type.
func findMember(v *fhir.Value, name string) (*fhir.Member, string) {
	for i := range v.Members {
		m := &v.Members[i]
		if len(m.Key) < len(name) || m.Key[:len(name)] != name {
			continue
		}
		if len(m.Key) == len(name) {
			return m, ""
		}
		if c := m.Key[len(name)]; c >= 'A' && c <= 'Z' {
			if t, ok := choiceTypes[m.Key[len(name):]]; ok {
				return m, t
			}
		}
	}
	return nil, ""
}

// primitiveExt finds the "_name" sibling of a primitive element.
func primitiveExt(it Item) *fhir.Value {
	if it.parent == nil || it.key == "" {
		return nil
	}
	ext := it.parent.Get("_" + it.key)
	if ext == nil {
		return nil
	}
	if it.idx >= 0 {
		if ext.Kind != fhir.Array || int(it.idx) >= len(ext.Items) {
			return nil
		}
		return ext.Items[it.idx]
	}
	return ext
}

func appendValue(out Collection, parent *fhir.Value, m *fhir.Member, typ string) Collection {
	v := m.Value
	if v.Kind == fhir.Array {
		for j, e := range v.Items {
			if e.Kind == fhir.Null && !hasPrimitiveExt(parent, m.Key, j) {
				continue
			}
			out = append(out, childItem(parent, m.Key, e, typ, j))
		}
		return out
	}
	if v.Kind == fhir.Null {
		return out
	}
	return append(out, childItem(parent, m.Key, v, typ, -1))
}

func childItem(parent *fhir.Value, key string, v *fhir.Value, typ string, idx int) Item {
	if typ == "" && v.Kind == fhir.Object {
		typ = v.ResourceType()
	}
	return Item{n: v, parent: parent, key: key, typ: typ, idx: int32(idx)}
}

// countChildren counts what children would append.
func countChildren(it Item, name string) int {
	v := it.n
	if v == nil || v.Kind != fhir.Object {
		if v != nil && (name == "extension" || name == "id") {
			return 4
		}
		return 0
	}
	for i := range v.Members {
		m := &v.Members[i]
		if m.Key == name || (len(m.Key) > len(name) && m.Key[:len(name)] == name && m.Key[len(name)] >= 'A' && m.Key[len(name)] <= 'Z') {
			if m.Value.Kind == fhir.Array {
				return len(m.Value.Items)
			}
			return 1
		}
	}
	return 0
}

// navigate returns the children named name of every item in focus.
func navigate(c *ctx, focus Collection, name string) Collection {
	if len(focus) == 1 && focus[0].n != nil && focus[0].n.Kind == fhir.Object {
		v := focus[0].n
		m, typ := findMember(v, name)
		if m == nil {
			return nil
		}
		n := 1
		if m.Value.Kind == fhir.Array {
			n = len(m.Value.Items)
		}
		return appendValue(c.alloc(n), v, m, typ)
	}
	n := 0
	for i := range focus {
		n += countChildren(focus[i], name)
	}
	if n == 0 {
		return nil
	}
	out := c.alloc(n)
	for i := range focus {
		out = children(out, focus[i], name)
	}
	return out
}

// choiceTypes maps choice suffixes to FHIR type names.
var choiceTypes = map[string]string{
	"Base64Binary": "base64Binary", "Boolean": "boolean", "Canonical": "canonical", "Code": "code",
	"Date": "date", "DateTime": "dateTime", "Decimal": "decimal", "Id": "id", "Instant": "instant",
	"Integer": "integer", "Markdown": "markdown", "Oid": "oid", "PositiveInt": "positiveInt",
	"String": "string", "Time": "time", "UnsignedInt": "unsignedInt", "Uri": "uri", "Url": "url",
	"Uuid": "uuid", "Address": "Address", "Age": "Age", "Annotation": "Annotation",
	"Attachment": "Attachment", "CodeableConcept": "CodeableConcept", "Coding": "Coding",
	"ContactPoint": "ContactPoint", "Count": "Count", "Distance": "Distance", "Duration": "Duration",
	"HumanName": "HumanName", "Identifier": "Identifier", "Money": "Money", "Period": "Period",
	"Quantity": "Quantity", "Range": "Range", "Ratio": "Ratio", "Reference": "Reference",
	"SampledData": "SampledData", "Signature": "Signature", "Timing": "Timing",
	"ContactDetail": "ContactDetail", "Contributor": "Contributor", "DataRequirement": "DataRequirement",
	"Expression": "Expression", "ParameterDefinition": "ParameterDefinition",
	"RelatedArtifact": "RelatedArtifact", "TriggerDefinition": "TriggerDefinition",
	"UsageContext": "UsageContext", "Dosage": "Dosage", "Meta": "Meta",
}

// hasPrimitiveExt reports whether a null array entry carries an extension
// in the "_key" sibling array.
func hasPrimitiveExt(parent *fhir.Value, key string, j int) bool {
	ext := parent.Get("_" + key)
	return ext != nil && ext.Kind == fhir.Array && j < len(ext.Items) && ext.Items[j].Kind == fhir.Object
}
