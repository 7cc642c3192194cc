package mapping

import (
	"errors"
	"fmt"
	"sync"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
	"github.com/fhirbridge/fhirbridge/mapping/hl7v2"
)

// ErrDirection is returned by Apply on a reverse mapping and by Reverse on
// a forward one.
var ErrDirection = errors.New("mapping used in the wrong direction")

// errNotObject is returned when a record or resource is not a JSON object.
var errNotObject = errors.New("input is not a JSON object")

// arenaPool recycles the FHIRPath result memory of one record's
// evaluation: a record's output holds no collection, so once it is built
// the arena is reset and reused by the next record.
var arenaPool = sync.Pool{New: func() any { return new(fhirpath.Arena) }}

// run is the state of one record's evaluation; one is allocated per record.
type run struct {
	m   *Mapping
	env fhirpath.Env
	rc  runCtx
}

// Apply maps one FHIR resource to one vendor record (a JSON object). It
// returns (nil, nil) when res is not of the mapping's source type or the
// mapping's `when` is false. r resolves references for resolve() and may
// be nil. Errors are *FieldError and never contain data values. Apply is
// safe for concurrent use.
func (m *Mapping) Apply(res *fhir.Value, r fhir.Resolver) (*fhir.Value, error) {
	return m.ApplyIn(res, r, nil)
}

// BundleVar is the name of the built-in variable (%bundle) holding the
// Bundle a resource came in, so a mapping can reach resources that point
// at it (e.g. the Encounter of an Appointment). It is empty outside a Bundle.
const BundleVar = "bundle"

// ApplyIn is Apply for a resource that came in bundle (a Bundle resource,
// or nil): %bundle is bound to it.
func (m *Mapping) ApplyIn(res *fhir.Value, r fhir.Resolver, bundle *fhir.Value) (*fhir.Value, error) {
	if m.dir != Forward {
		return nil, ErrDirection
	}
	if res == nil || res.Kind != fhir.Object {
		return nil, errNotObject
	}
	if res.ResourceType() != m.source {
		return nil, nil
	}
	if m.each != nil {
		return nil, fmt.Errorf("mapping %s: %w", m.name, ErrEach)
	}
	return m.record(res, r, nil, bundle)
}

// ItemVar is the variable (%item) a mapping with `each` binds to the item
// each record is made from.
const ItemVar = "item"

// ErrEach is returned by Apply and ApplyIn for a mapping with `each`,
// which gives several records per resource: use ApplyAll.
var ErrEach = errors.New("mapping gives one record per item of each: use ApplyAll")

// ApplyAll maps one FHIR resource that came in bundle (or nil) to its
// records: for a mapping with `each`, one record per item of the each
// expression (evaluated after vars) that passes `when`, with %item bound
// to it, in order; otherwise the one record ApplyIn gives, if any. It
// returns no records when res is not of the source type. Errors are
// *FieldError and never contain data values.
func (m *Mapping) ApplyAll(res *fhir.Value, r fhir.Resolver, bundle *fhir.Value) ([]*fhir.Value, error) {
	if m.each == nil {
		rec, err := m.ApplyIn(res, r, bundle)
		if rec == nil || err != nil {
			return nil, err
		}
		return []*fhir.Value{rec}, nil
	}
	if m.dir != Forward {
		return nil, ErrDirection
	}
	if res == nil || res.Kind != fhir.Object {
		return nil, errNotObject
	}
	if res.ResourceType() != m.source {
		return nil, nil
	}
	st, focus, done, err := m.start(res, nil, r, bundle, true)
	defer done()
	if err != nil {
		return nil, err
	}
	items, err := m.each.Eval(&st.env, focus)
	if err != nil {
		return nil, m.fieldErr("each", m.each.String(), "evaluating each", err)
	}
	var out []*fhir.Value
	for _, it := range items {
		st.env.Vars[ItemVar] = fhirpath.Collection{it}
		rec, err := m.finishRecord(st, focus, nil)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Reverse maps one vendor record (a JSON object whose members are the
// vendor's field or column names) to one FHIR resource of ResourceType.
// It returns (nil, nil) when the mapping's `when` is false. Errors are
// *FieldError. Reverse is safe for concurrent use.
func (m *Mapping) Reverse(rec *fhir.Value) (*fhir.Value, error) {
	if m.dir != Reverse {
		return nil, ErrDirection
	}
	if rec == nil || rec.Kind != fhir.Object {
		return nil, errNotObject
	}
	if m.input == "hl7v2" {
		return nil, fmt.Errorf("mapping %s reads HL7 v2 messages: use ReverseMessage: %w", m.name, ErrInput)
	}
	out := &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 1, len(m.fields)+1)}
	out.Members[0] = fhir.Member{Key: "resourceType", Value: fhir.NewString(m.resource)}
	return m.record(rec, nil, out, nil)
}

// ErrInput is returned by Reverse, ReverseMessage and the CSV readers when
// the record's kind does not match the mapping's input.
var ErrInput = errors.New("record does not match the mapping's input")

// v2Focus is the focus of an hl7v2 mapping: the message. Read-only.
var v2Focus = fhirpath.Collection{fhirpath.MessageItem()}

// ReverseMessage maps one parsed HL7 v2 message with a reverse mapping
// declaring `input: hl7v2` to one FHIR resource of ResourceType (often a
// Bundle). It returns (nil, nil) when the mapping's `when` is false, for
// instance for a trigger event the mapping does not handle. Errors are
// *FieldError naming the field and expression (V2Location gives the
// message location), never a value. Safe for concurrent use.
func (m *Mapping) ReverseMessage(msg *hl7v2.Message) (*fhir.Value, error) {
	if m.dir != Reverse {
		return nil, ErrDirection
	}
	if m.input != "hl7v2" {
		return nil, fmt.Errorf("mapping %s reads %s records, not HL7 v2 messages: %w", m.name, m.input, ErrInput)
	}
	if msg == nil {
		return nil, fmt.Errorf("mapping %s: no message: %w", m.name, ErrInput)
	}
	out := &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 1, len(m.fields)+1)}
	out.Members[0] = fhir.Member{Key: "resourceType", Value: fhir.NewString(m.resource)}
	st, focus, done, err := m.start(nil, msg, nil, nil, false)
	defer done()
	if err != nil {
		return nil, err
	}
	return m.finishRecord(st, focus, out)
}

// record evaluates vars, when and fields over root into out (a new object
// when nil).
func (m *Mapping) record(root *fhir.Value, r fhir.Resolver, out, bundle *fhir.Value) (*fhir.Value, error) {
	st, focus, done, err := m.start(root, nil, r, bundle, false)
	defer done()
	if err != nil {
		return nil, err
	}
	return m.finishRecord(st, focus, out)
}

// start sets up one resource's evaluation and evaluates its vars; done
// gives the evaluation's memory back and must be called once the records
// are built. ownVars makes the variable map the run's own, so that %item
// can be bound in it.
func (m *Mapping) start(root *fhir.Value, msg *hl7v2.Message, r fhir.Resolver, bundle *fhir.Value, ownVars bool) (st *run, focus fhirpath.Collection, done func(), err error) {
	st = &run{m: m}
	arena := arenaPool.Get().(*fhirpath.Arena)
	done = func() { arena.Reset(); arenaPool.Put(arena) }
	st.env = fhirpath.Env{Resource: root, Vars: m.paramVars, Resolver: r, Arena: arena, Message: msg}
	st.rc.env = &st.env
	if msg != nil {
		focus = v2Focus
	} else {
		focus = fhirpath.Collection{fhirpath.ItemOf(root)}
	}
	if len(m.vars) > 0 || bundle != nil || ownVars {
		vars := make(map[string]fhirpath.Collection, len(m.paramVars)+len(m.vars))
		for k, v := range m.paramVars {
			vars[k] = v
		}
		if bundle != nil {
			vars[BundleVar] = fhirpath.Collection{fhirpath.ItemOf(bundle)}
		}
		st.env.Vars = vars
		for _, v := range m.vars {
			c, err := v.expr.Eval(&st.env, focus)
			if err != nil {
				return st, focus, done, m.fieldErr("%"+v.name, v.text, "evaluating var", err)
			}
			vars[v.name] = c
		}
	}
	return st, focus, done, nil
}

// finishRecord evaluates when and the fields of one record into out (a
// new object when nil); (nil, nil) when `when` is false.
func (m *Mapping) finishRecord(st *run, focus fhirpath.Collection, out *fhir.Value) (*fhir.Value, error) {
	if m.when != nil {
		ok, err := st.test(m.when, focus)
		if err != nil {
			return nil, m.fieldErr("when", m.when.String(), "evaluating when", err)
		}
		if !ok {
			return nil, nil
		}
	}
	if out == nil {
		out = &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 0, len(m.fields))}
	}
	if err := st.fill(out, m.fields, focus); err != nil {
		return nil, err
	}
	return out, nil
}

func (m *Mapping) fieldErr(field, expr, reason string, err error) *FieldError {
	return &FieldError{Mapping: m.name, Field: field, Expr: expr, Reason: reason, Err: err}
}

var errNotSingleBool = errors.New("condition gives more than one item")

// test evaluates a condition: empty is false, a single boolean is itself,
// any other single item is true.
func (st *run) test(e *fhirpath.Expr, focus fhirpath.Collection) (bool, error) {
	c, err := e.Eval(&st.env, focus)
	if err != nil {
		return false, err
	}
	switch len(c) {
	case 0:
		return false, nil
	case 1:
		if b, ok := c[0].AsBool(); ok {
			return b, nil
		}
		return true, nil
	}
	return false, errNotSingleBool
}

// fill evaluates nodes with focus and stores their values into obj.
func (st *run) fill(obj *fhir.Value, nodes []*node, focus fhirpath.Collection) error {
	for _, n := range nodes {
		v, err := st.value(n, focus)
		if err != nil {
			return err
		}
		if v == nil {
			continue
		}
		if n.path == nil {
			obj.Members = append(obj.Members, fhir.Member{Key: n.key, Value: v})
			continue
		}
		if err := setPath(obj, n.path, v); err != nil {
			return st.m.fieldErr(n.field, "", "building target", err)
		}
	}
	return nil
}

// value produces the value of node n, or nil when it is absent.
func (st *run) value(n *node, focus fhirpath.Collection) (*fhir.Value, error) {
	if n.when != nil {
		ok, err := st.test(n.when, focus)
		if err != nil {
			return nil, st.m.fieldErr(n.field, n.when.String(), "evaluating when", err)
		}
		if !ok {
			return nil, nil
		}
	}
	var v *fhir.Value
	var err error
	switch n.kind {
	case kScalar:
		v, err = st.scalar(n, focus)
	case kObject:
		v, err = st.object(n, focus)
	case kEach:
		v, err = st.each(n, focus)
	case kItems:
		v, err = st.itemsArray(n, focus)
	}
	if err != nil {
		return nil, err
	}
	if v == nil && n.def != nil {
		v = n.def
	}
	if n.required && isEmpty(v) {
		return nil, st.m.fieldErr(n.field, n.exprText, "required field is empty", nil)
	}
	return v, nil
}

// isEmpty reports whether v is absent, null, "", [] or {}.
func isEmpty(v *fhir.Value) bool {
	if v == nil {
		return true
	}
	switch v.Kind {
	case fhir.Null:
		return true
	case fhir.String:
		return v.Str == ""
	case fhir.Array:
		return len(v.Items) == 0
	case fhir.Object:
		return len(v.Members) == 0
	}
	return false
}

// sourceVals evaluates a scalar node's source into one JSON value per item.
func (st *run) sourceVals(n *node, focus fhirpath.Collection) ([]*fhir.Value, error) {
	switch {
	case n.value != nil:
		return []*fhir.Value{n.value}, nil
	case n.concat != nil:
		var buf []byte
		for _, e := range n.concat {
			c, err := e.Eval(&st.env, focus)
			if err != nil {
				return nil, st.m.fieldErr(n.field, e.String(), "evaluating concat", err)
			}
			for _, it := range c {
				if s, ok := it.AsString(); ok {
					buf = append(buf, s...)
				}
			}
		}
		if len(buf) == 0 {
			return nil, nil
		}
		return []*fhir.Value{fhir.NewString(string(buf))}, nil
	case n.from != nil:
		c, err := n.from.Eval(&st.env, focus)
		if err != nil {
			return nil, st.m.fieldErr(n.field, n.exprText, "evaluating expression", err)
		}
		return st.itemsJSON(n, c)
	}
	return st.itemsJSON(n, focus)
}

// errV2Item: a field's value would be an HL7 v2 position, not a value.
var errV2Item = errors.New("expression gives HL7 v2 segments, groups or repetitions, not values: read them with v2('…')")

// itemsJSON converts a field's collection to JSON values, refusing HL7 v2
// positions (which have no JSON form).
func (st *run) itemsJSON(n *node, c fhirpath.Collection) ([]*fhir.Value, error) {
	if st.env.Message != nil {
		for _, it := range c {
			if it.IsV2() {
				return nil, st.m.fieldErr(n.field, n.exprText, "", errV2Item)
			}
		}
	}
	return itemsJSON(c, n.first), nil
}

// itemsJSON converts a collection to JSON values.
func itemsJSON(c fhirpath.Collection, first bool) []*fhir.Value {
	if first && len(c) > 1 {
		c = c[:1]
	}
	out := make([]*fhir.Value, len(c))
	for i, it := range c {
		out[i] = it.JSON()
	}
	return out
}

var errMany = errors.New("expression gives more than one item; use first: true or a join transform")

// scalar produces a scalar (or, with type: array, an array) field.
func (st *run) scalar(n *node, focus fhirpath.Collection) (*fhir.Value, error) {
	vals, err := st.sourceVals(n, focus)
	if err != nil {
		return nil, err
	}
	return st.finish(n, vals, focus)
}

// finish runs the transforms of n over vals and shapes the result.
func (st *run) finish(n *node, vals []*fhir.Value, focus fhirpath.Collection) (*fhir.Value, error) {
	if len(n.steps) > 0 {
		st.rc.focus = focus
		for _, s := range n.steps {
			var err error
			if vals, err = s.apply(vals, &st.rc); err != nil {
				return nil, st.m.fieldErr(n.field, n.exprText, "transform "+s.name, err)
			}
		}
	}
	if n.typ == "array" {
		arr := &fhir.Value{Kind: fhir.Array, Items: make([]*fhir.Value, 0, len(vals))}
		for _, v := range vals {
			if !isEmpty(v) {
				arr.Items = append(arr.Items, v)
			}
		}
		if len(arr.Items) == 0 && n.omitEmpty {
			return nil, nil
		}
		return arr, nil
	}
	switch len(vals) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, st.m.fieldErr(n.field, n.exprText, "", errMany)
	}
	v := vals[0]
	if v == nil || v.Kind == fhir.Null || (v.Kind == fhir.String && v.Str == "") {
		return nil, nil
	}
	if n.typ != "" {
		c, err := coerce(v, n.typ)
		if err != nil {
			return nil, st.m.fieldErr(n.field, n.exprText, "type "+n.typ, err)
		}
		v = c
	}
	return v, nil
}
