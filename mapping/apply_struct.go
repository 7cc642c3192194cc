package mapping

import (
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// object produces a nested object field.
func (st *run) object(n *node, focus fhirpath.Collection) (*fhir.Value, error) {
	if n.from != nil {
		c, err := n.from.Eval(&st.env, focus)
		if err != nil {
			return nil, st.m.fieldErr(n.field, n.exprText, "evaluating expression", err)
		}
		if len(c) == 0 {
			return nil, nil
		}
		if n.first {
			c = c[:1]
		}
		focus = c
	}
	obj := &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 0, len(n.fields))}
	if err := st.fill(obj, n.fields, focus); err != nil {
		return nil, err
	}
	if len(obj.Members) == 0 {
		return nil, nil
	}
	return obj, nil
}

// each produces an array with one element per item of n.each.
func (st *run) each(n *node, focus fhirpath.Collection) (*fhir.Value, error) {
	c, err := n.each.Eval(&st.env, focus)
	if err != nil {
		return nil, st.m.fieldErr(n.field, n.each.String(), "evaluating each", err)
	}
	arr := &fhir.Value{Kind: fhir.Array, Items: make([]*fhir.Value, 0, len(c))}
	for i := range c {
		sub := c[i : i+1 : i+1]
		var v *fhir.Value
		if n.fields != nil {
			obj := &fhir.Value{Kind: fhir.Object, Members: make([]fhir.Member, 0, len(n.fields))}
			if err := st.fill(obj, n.fields, sub); err != nil {
				return nil, err
			}
			if len(obj.Members) > 0 {
				v = obj
			}
		} else {
			vals, err := st.sourceVals(n, sub)
			if err != nil {
				return nil, err
			}
			if v, err = st.finish(n, vals, sub); err != nil {
				return nil, err
			}
		}
		if v != nil {
			arr.Items = append(arr.Items, v)
		}
	}
	if len(arr.Items) == 0 && n.omitEmpty {
		return nil, nil
	}
	return arr, nil
}

// itemsArray produces a fixed-position array; absent entries are null.
func (st *run) itemsArray(n *node, focus fhirpath.Collection) (*fhir.Value, error) {
	arr := &fhir.Value{Kind: fhir.Array, Items: make([]*fhir.Value, len(n.items))}
	present := false
	for i, it := range n.items {
		v, err := st.value(it, focus)
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = &fhir.Value{Kind: fhir.Null}
		} else {
			present = true
		}
		arr.Items[i] = v
	}
	if !present && n.omitEmpty {
		return nil, nil
	}
	return arr, nil
}
