package mapping

import (
	"encoding/csv"
	"errors"
	"path"
	"strconv"

	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/goccy/go-yaml/ast"
)

var errNoLookup = errors.New("value not found in lookup table")

// missing policies of lookup.
const (
	missRefuse = iota
	missKeep
	missDefault
	missOmit
)

// lookupStep maps each value through a table.
type lookupStep struct {
	table   map[string]*fhir.Value
	missing int
	def     *fhir.Value
	consts  []Constant // the table's values, for Mapping.Constants
}

func (l *lookupStep) apply(in []*fhir.Value, _ *runCtx) ([]*fhir.Value, error) {
	out := in[:0]
	for _, v := range in {
		s, ok := text(v)
		if !ok {
			return nil, errNotPrimitive
		}
		if r, ok := l.table[s]; ok {
			out = append(out, r)
			continue
		}
		switch l.missing {
		case missRefuse:
			return nil, errNoLookup
		case missKeep:
			out = append(out, v)
		case missDefault:
			out = append(out, l.def)
		}
	}
	return out, nil
}

func init() { register("lookup", argRequired, newLookup) }

func newLookup(c *compiler, n ast.Node) (step, error) {
	l := &lookupStep{table: map[string]*fhir.Value{}}
	var csvN, tableN, missingN ast.Node
	var file, keyCol, valCol string
	miss := ""
	err := c.argObject("lookup", n, map[string]func(ast.Node) error{
		"table":   func(v ast.Node) error { tableN = v; return c.lookupTable(l, v) },
		"csv":     func(v ast.Node) (err error) { csvN = v; file, err = c.str(v, "csv"); return },
		"key":     func(v ast.Node) (err error) { keyCol, err = c.str(v, "key"); return },
		"value":   func(v ast.Node) (err error) { valCol, err = c.str(v, "value"); return },
		"default": func(v ast.Node) (err error) { l.def, err = c.value(v); return },
		"missing": func(v ast.Node) error {
			missingN = v
			return c.oneOf(v, "missing", &miss, "refuse", "keep", "default", "omit")
		},
	})
	if err != nil {
		return nil, err
	}
	if (tableN == nil) == (csvN == nil) {
		return nil, c.errAt(n, "lookup needs exactly one of table and csv")
	}
	if csvN != nil {
		if err := c.lookupCSV(l, csvN, file, keyCol, valCol); err != nil {
			return nil, err
		}
	}
	switch miss {
	case "":
		l.missing = missRefuse
		if l.def != nil {
			l.missing = missDefault
		}
	case "refuse":
		l.missing = missRefuse
	case "keep":
		l.missing = missKeep
	case "omit":
		l.missing = missOmit
	case "default":
		if l.def == nil {
			return nil, c.errAt(missingN, "missing: default needs default")
		}
		l.missing = missDefault
	}
	return l, nil
}

// lookupTable reads an inline table of scalar keys and values.
func (c *compiler) lookupTable(l *lookupStep, n ast.Node) error {
	ps, err := c.pairs(n, "lookup table")
	if err != nil {
		return err
	}
	texts := map[string]string{}
	for _, kv := range ps {
		v, err := c.value(kv.Value)
		if err != nil {
			return err
		}
		if v.Kind == fhir.Array || v.Kind == fhir.Object {
			return c.errAt(kv.Value, "lookup values must be scalars")
		}
		l.table[keyOf(kv)] = v
		texts[keyOf(kv)], _ = text(v)
	}
	l.consts = append(l.consts, c.tableConstants(texts)...)
	return nil
}

// lookupCSV reads a lookup table from a CSV file with a header row; key and
// value name its columns (default: the first two).
func (c *compiler) lookupCSV(l *lookupStep, at ast.Node, file, keyCol, valCol string) error {
	if c.fsys == nil {
		return c.errAt(at, "lookup csv: no file system to read from")
	}
	p := path.Join(c.dir, file)
	f, err := c.fsys.Open(p)
	if err != nil {
		return c.errAt(at, "lookup csv: "+err.Error())
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return c.errAt(at, "lookup csv "+file+": "+err.Error())
	}
	if len(rows) == 0 {
		return c.errAt(at, "lookup csv "+file+": no header row")
	}
	ki, vi := colIndex(rows[0], keyCol, 0), colIndex(rows[0], valCol, 1)
	if ki < 0 || vi < 0 {
		return c.errAt(at, "lookup csv "+file+": key or value column not found")
	}
	for i, r := range rows[1:] {
		if ki >= len(r) || vi >= len(r) {
			return c.errAt(at, "lookup csv "+file+": row "+strconv.Itoa(i+2)+" is short")
		}
		l.table[r[ki]] = fhir.NewString(r[vi])
		l.consts = append(l.consts, Constant{Value: r[vi], Where: csvRowWhere(file, i+2, rows[0][ki], r[ki])})
	}
	return nil
}

// colIndex finds a column by name, or returns def when name is "".
func colIndex(header []string, name string, def int) int {
	if name == "" {
		if def < len(header) {
			return def
		}
		return -1
	}
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}
