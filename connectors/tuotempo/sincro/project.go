package sincro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// maxBody bounds a stored resource the projection decodes.
const maxBody = 8 << 20

// Observer is the delivery.Observer that keeps the views' rows current in
// the ingest transaction: for each stored version of a view's source type
// it replaces that resource's rows, and for a resource a view's mapping
// reads through %bundle (a Practitioner's PractitionerRoles) it maps the
// resource pointed at again. Register it with router.Observe before serve
// listens.
func (s *Sincro) Observer() delivery.Observer {
	var types []string
	add := func(t string) {
		for _, x := range types {
			if x == t {
				return
			}
		}
		types = append(types, t)
	}
	for _, p := range s.views {
		add(p.source)
		if p.Related != nil {
			add(p.Related.Type)
		}
	}
	return delivery.Observer{Name: "tuotempo sincro", Types: types, Observe: s.observe}
}

// observe is the Observer's function.
func (s *Sincro) observe(ctx context.Context, tx *store.Tx, typ, id string, _ int, res *fhir.Value) error {
	if _, err := tx.SQL().ExecContext(ctx, "SELECT pg_advisory_xact_lock_shared($1)", lockKey); err != nil {
		return store.Classify("locking the sincro rows", err)
	}
	r := &txResolver{ctx: ctx, tx: tx}
	for _, p := range s.views {
		if p.source == typ {
			if err := s.project(ctx, tx, r, p, id, res); err != nil {
				return err
			}
		}
		if p.Related != nil && p.Related.Type == typ && res != nil {
			rt, rid := fhir.SplitReference(res.Get(p.Related.Elem).GetString("reference"))
			if rt != p.source || rid == "" {
				continue
			}
			target := r.Resolve(rt + "/" + rid) // not a URL path: a FHIR reference
			if err := r.Err(); err != nil {
				return err
			}
			if target == nil {
				continue
			}
			if err := s.project(ctx, tx, r, p, rid, target); err != nil {
				return err
			}
		}
	}
	return r.Err()
}

// project replaces the rows of view p made from the resource typ/id
// (res nil: the resource is gone, its rows too).
func (s *Sincro) project(ctx context.Context, tx *store.Tx, r *txResolver, p *published, id string, res *fhir.Value) error {
	d := quoteIdent(privateSchema)
	if _, err := tx.SQL().ExecContext(ctx, "DELETE FROM "+d+".rows WHERE view_name = $1 AND src_type = $2 AND src_id = $3",
		p.Name, p.source, id); err != nil {
		return store.Classify("replacing "+p.Name+" rows", err)
	}
	if res == nil {
		return nil
	}
	var bundle *fhir.Value
	if p.Related != nil {
		entries, err := related(ctx, tx, p.Related, p.source, id)
		if err != nil {
			return err
		}
		bundle = collection(entries)
	}
	rows, err := s.rows(p, res, r, bundle)
	if err := r.Err(); err != nil {
		return err
	}
	if err != nil {
		// The mapping refused the resource (an id beyond its limit): it
		// shows no row. Errors of mappings carry no data values.
		s.log.Warn("sincro: resource left out of its view", "view", p.Name, "type", p.source, "id", id, "err", err)
		return nil
	}
	return insertRows(ctx, tx, d, p, id, rows)
}

// row is one view row: its columns as text, and its real date for the
// view's date filter.
type row struct {
	cols map[string]string
	day  *time.Time
}

// rows maps res to p's rows, checking each value against its column.
func (s *Sincro) rows(p *published, res *fhir.Value, r fhir.Resolver, bundle *fhir.Value) ([]row, error) {
	recs, err := p.m.ApplyAll(res, r, bundle)
	if err != nil {
		return nil, err
	}
	out := make([]row, 0, len(recs))
	for _, rec := range recs {
		rw, err := toRow(p.View, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, rw)
	}
	return out, nil
}

// toRow checks a mapped record against v's columns: text within its
// limit, integers and floats that parse, the filter's date as
// dd/mm/yyyy. Members that are not columns of v are ignored. Errors name
// the column, never the value.
func toRow(v View, rec *fhir.Value) (row, error) {
	rw := row{cols: map[string]string{}}
	for _, c := range v.Columns {
		m := rec.Get(c.Name)
		if m == nil || m.Kind == fhir.Null || m.Kind == fhir.String && m.Str == "" {
			continue
		}
		if m.Kind == fhir.Array || m.Kind == fhir.Object {
			return row{}, fmt.Errorf("column %s: not a single value", c.Name)
		}
		val := m.Str
		switch c.Type {
		case Integer:
			n, err := strconv.ParseFloat(val, 64)
			if err != nil || n != math.Trunc(n) || math.Abs(n) > math.MaxInt32 {
				return row{}, fmt.Errorf("column %s: not an integer", c.Name)
			}
			val = strconv.FormatInt(int64(n), 10)
		case Float:
			n, err := strconv.ParseFloat(val, 64)
			if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
				return row{}, fmt.Errorf("column %s: not a number", c.Name)
			}
		default:
			if utf8.RuneCountInString(val) > c.Len {
				return row{}, fmt.Errorf("column %s: longer than %d characters", c.Name, c.Len)
			}
		}
		rw.cols[c.Name] = val
	}
	if v.Filter != nil {
		day, err := time.Parse("02/01/2006", rw.cols[v.Filter.Column])
		if err != nil {
			return row{}, fmt.Errorf("column %s: not a dd/mm/yyyy date", v.Filter.Column)
		}
		rw.day = &day
	}
	return rw, nil
}

// insertRows stores the rows of view p made from resource id.
func insertRows(ctx context.Context, tx *store.Tx, d string, p *published, id string, rows []row) error {
	var b batch
	for i, rw := range rows {
		if err := b.add(p, id, i, rw); err != nil {
			return err
		}
	}
	return b.flush(ctx, tx, d)
}

// batch is rows to insert in one statement, column by column.
type batch struct {
	views, types, ids, cols []string
	seqs                    []int32
	days                    []*string
}

// batchMax is how many rows one INSERT takes.
const batchMax = 1000

// add appends row seq of view p made from resource id.
func (b *batch) add(p *published, id string, seq int, rw row) error {
	js, err := json.Marshal(rw.cols)
	if err != nil {
		return fmt.Errorf("encoding a %s row: %w", p.Name, err)
	}
	var day *string
	if rw.day != nil {
		s := rw.day.Format(time.DateOnly)
		day = &s
	}
	b.views, b.types, b.ids = append(b.views, p.Name), append(b.types, p.source), append(b.ids, id)
	b.seqs, b.cols, b.days = append(b.seqs, int32(seq)), append(b.cols, string(js)), append(b.days, day)
	return nil
}

// flush inserts the batch's rows and empties it.
func (b *batch) flush(ctx context.Context, tx *store.Tx, d string) error {
	if len(b.views) == 0 {
		return nil
	}
	_, err := tx.SQL().ExecContext(ctx, "INSERT INTO "+d+`.rows (view_name, src_type, src_id, seq, cols, day)
		SELECT v, t, i, s, c::jsonb, dd::date FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[]) AS u(v, t, i, s, c, dd)`,
		b.views, b.types, b.ids, b.seqs, b.cols, b.days)
	if err != nil {
		return store.Classify("storing "+b.views[0]+" rows", err)
	}
	*b = batch{}
	return nil
}

// Refresh rebuilds every published view's rows from the store's current
// resources in one transaction, under the schema's lock (observers wait;
// it waits for the ingest transactions under way), so no change is lost
// between the read and the write.
func (s *Sincro) Refresh(ctx context.Context) error {
	start := time.Now()
	n := 0
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		n = 0
		if _, err := tx.SQL().ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
			return store.Classify("locking the sincro rows", err)
		}
		d := quoteIdent(privateSchema)
		if _, err := tx.SQL().ExecContext(ctx, "DELETE FROM "+d+".rows"); err != nil {
			return store.Classify("clearing the sincro rows", err)
		}
		r := &txResolver{ctx: ctx, tx: tx}
		var b batch
		for _, p := range s.views {
			var idx map[string][]*fhir.Value
			if p.Related != nil {
				var err error
				if idx, err = relatedIndex(ctx, tx, p.Related, p.source, ""); err != nil {
					return err
				}
			}
			cur, err := current(ctx, tx, p.source, "")
			if err != nil {
				return err
			}
			for _, c := range cur {
				var bundle *fhir.Value
				if p.Related != nil {
					bundle = collection(idx[c.id])
				}
				rows, err := s.rows(p, c.res, r, bundle)
				if rerr := r.Err(); rerr != nil {
					return rerr
				}
				if err != nil {
					s.log.Warn("sincro: resource left out of its view", "view", p.Name, "type", p.source, "id", c.id, "err", err)
					continue
				}
				for i, rw := range rows {
					if err := b.add(p, c.id, i, rw); err != nil {
						return err
					}
				}
				if len(b.views) >= batchMax {
					if err := b.flush(ctx, tx, d); err != nil {
						return err
					}
				}
				n += len(rows)
			}
		}
		return b.flush(ctx, tx, d)
	})
	if err != nil {
		return fmt.Errorf("rebuilding the sincro views: %w", err)
	}
	s.log.Info("sincro: views rebuilt", "rows", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// stored is one current resource.
type stored struct {
	id  string
	res *fhir.Value
}

// current reads the current version of every resource of typ that is not
// deleted, inside tx
// (the store's resources and resource_versions tables, as Store.Current
// reads them), decoded; all rows are read before the caller writes, as
// one connection cannot interleave statements with open rows.
//
// contains, when not "", keeps only the bodies holding it (a cheap
// prefilter; the caller checks what it needs).
func current(ctx context.Context, tx *store.Tx, typ, contains string) ([]stored, error) {
	op := "listing " + typ + " resources"
	rows, err := tx.SQL().QueryContext(ctx, `SELECT r.id, v.body
		FROM resources r JOIN resource_versions v
		  ON v.type = r.type AND v.id = r.id AND v.version = r.version
		WHERE r.type = $1 AND r.version > 0 AND r.deleted = 0 AND ($2 = '' OR position(convert_to($2, 'UTF8') IN v.body) > 0)
		ORDER BY r.id`, typ, contains)
	if err != nil {
		return nil, store.Classify(op, err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var id string
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			return nil, store.Classify(op, err)
		}
		if len(body) > maxBody {
			return nil, fmt.Errorf("stored %s/%s is larger than %d bytes", typ, id, maxBody)
		}
		v, err := fhir.Decode(body, fhir.DecodeOptions{})
		if err != nil {
			return nil, fmt.Errorf("stored %s/%s is not readable JSON", typ, id)
		}
		out = append(out, stored{id, v})
	}
	if err := rows.Err(); err != nil {
		return nil, store.Classify(op, err)
	}
	return out, nil
}

// relatedIndex reads the resources of br.Type pointing (by br.Elem) at
// resources of typ, as Bundle entries keyed by the id pointed at.
// contains is current's prefilter.
func relatedIndex(ctx context.Context, tx *store.Tx, br *BackRef, typ, contains string) (map[string][]*fhir.Value, error) {
	cur, err := current(ctx, tx, br.Type, contains)
	if err != nil {
		return nil, err
	}
	idx := map[string][]*fhir.Value{}
	for _, c := range cur {
		rt, rid := fhir.SplitReference(c.res.Get(br.Elem).GetString("reference"))
		if rt != typ {
			continue
		}
		entry := fhir.NewObject()
		entry.Set("fullUrl", fhir.NewString(br.Type+"/"+c.id)) // not a URL path: a FHIR reference
		entry.Set("resource", c.res)
		idx[rid] = append(idx[rid], entry)
	}
	return idx, nil
}

// related is relatedIndex for one resource.
func related(ctx context.Context, tx *store.Tx, br *BackRef, typ, id string) ([]*fhir.Value, error) {
	// The stored JSON holds the reference as "…Type/id" followed by its
	// closing quote, relative or absolute.
	idx, err := relatedIndex(ctx, tx, br, typ, typ+"/"+id+`"`) // not a URL path: a FHIR reference in JSON
	if err != nil {
		return nil, err
	}
	return idx[id], nil
}

// collection wraps entries in a collection Bundle (nil for none).
func collection(entries []*fhir.Value) *fhir.Value {
	if entries == nil {
		return nil
	}
	b := fhir.NewObject()
	b.Set("resourceType", fhir.NewString("Bundle"))
	b.Set("type", fhir.NewString("collection"))
	b.Set("entry", fhir.NewArray(entries...))
	return b
}

// txResolver resolves references from the store inside a transaction, so
// a mapping sees what the same ingest stored before.
type txResolver struct {
	ctx   context.Context
	tx    *store.Tx
	err   error
	cache map[string]*fhir.Value
}

// Resolve implements fhir.Resolver.
func (r *txResolver) Resolve(ref string) *fhir.Value {
	typ, id := fhir.SplitReference(ref)
	if typ == "" || r.err != nil {
		return nil
	}
	key := typ + "/" + id // not a URL path: a map key
	if v, ok := r.cache[key]; ok {
		return v
	}
	body, _, err := r.tx.GetResource(r.ctx, typ, id)
	var v *fhir.Value
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		r.err = err
		return nil
	case len(body) > maxBody:
		r.err = fmt.Errorf("stored %s is larger than %d bytes", key, maxBody)
		return nil
	default:
		if v, err = fhir.Decode(body, fhir.DecodeOptions{}); err != nil {
			r.err = fmt.Errorf("stored %s is not readable JSON", key)
			return nil
		}
	}
	if r.cache == nil || len(r.cache) > 4096 {
		r.cache = map[string]*fhir.Value{}
	}
	r.cache[key] = v
	return v
}

// Err is the first store failure Resolve met.
func (r *txResolver) Err() error { return r.err }
