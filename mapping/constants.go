package mapping

import (
	"sort"
	"strconv"
)

// Constant is one value a field can produce that is written in the mapping
// or in its lookup files rather than read from the input: a value of a
// lookup table, a lookup or transform default, a `value:` or a `param:`.
// It lets a caller check such values against a vendor before any record
// is sent (fhirbridge check --connect checks Solo's waiting rooms so).
type Constant struct {
	// Value is the text the field gets.
	Value string
	// Where says where the value is written, without the value, for
	// messages:
	//   "waiting-rooms.csv row 3 (service_type 165)"  a lookup CSV row (the
	//                                                 key column's name and key)
	//   "m.yaml: lookup table key 165"                an inline lookup table
	//   "m.yaml: lookup default"                      the default of a lookup
	//   "m.yaml: default"                             a literal default transform
	//   "m.yaml: value"                               a value field
	//   "param room"                                  a parameter given to Load
	//   "m.yaml: default of param room"               a parameter's declared default
	// where m.yaml is the file name given to Load or Parse and the CSV file
	// is named as the mapping writes it.
	Where string
}

// Constants lists the constants the field at target can produce, with the
// run-time parameters applied: its `value:` or `param:`, then, transform by
// transform, every row of a lookup table (CSV rows in file order, inline
// tables by key) and its default, and every default transform. target is a
// field's target path as written, nested ones joined with "." (e.g.
// "waitingRoom" or "patient.gender"). A default or parameter whose text
// is empty supplies nothing and is left out; lookup rows are listed as
// they are. Constants returns nil when no field has that target or the
// field has no constants. The caller may modify the result.
func (m *Mapping) Constants(target string) []Constant {
	n := findNode(m.fields, target)
	if n == nil || len(n.consts) == 0 {
		return nil
	}
	return append([]Constant(nil), n.consts...)
}

// findNode returns the field whose full target path is target.
func findNode(nodes []*node, target string) *node {
	for _, n := range nodes {
		if n.field == target {
			return n
		}
		if f := findNode(n.fields, target); f != nil {
			return f
		}
		if f := findNode(n.items, target); f != nil {
			return f
		}
	}
	return nil
}

// nodeConstants records the constants of the compiled field nd, from its
// source and its transforms.
func (c *compiler) nodeConstants(nd *node, param string) {
	add := func(v, where string) {
		if v != "" {
			nd.consts = append(nd.consts, Constant{Value: v, Where: where})
		}
	}
	switch {
	case param != "":
		add(nd.value.Str, c.paramWhere(param))
	case nd.value != nil:
		s, _ := text(nd.value)
		add(s, c.file+": value")
	}
	for _, st := range nd.steps {
		switch s := st.step.(type) {
		case *lookupStep:
			nd.consts = append(nd.consts, s.consts...)
			if s.def != nil {
				d, _ := text(s.def)
				add(d, c.file+": lookup default")
			}
		case defaultStep:
			d, _ := text(s.v)
			add(d, s.where)
		}
	}
}

// paramWhere names where the value of parameter name comes from: given to
// Load, or the declared default.
func (c *compiler) paramWhere(name string) string {
	if _, given := c.given[name]; given {
		return "param " + name
	}
	return c.file + ": default of param " + name
}

// tableConstants lists the values of an inline lookup table by key.
func (c *compiler) tableConstants(table map[string]string) []Constant {
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Constant, 0, len(keys))
	for _, k := range keys {
		out = append(out, Constant{Value: table[k], Where: c.file + ": lookup table key " + k})
	}
	return out
}

// csvRowWhere names row i (1-based, header included) of a lookup CSV.
func csvRowWhere(file string, i int, keyCol, key string) string {
	return file + " row " + strconv.Itoa(i) + " (" + keyCol + " " + key + ")"
}
