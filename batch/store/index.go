package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/searchindex"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// The search index (store migration 0006). resource_index holds one row
// per indexed value of the current version of every resource, as
// [searchindex.Entries] extracts them; put rewrites a resource's rows in
// the transaction that stores a new version, so the index never lags the
// resources. Resources stored before the migration are listed in
// resource_index_pending, which Open works through in bounded batches
// (indexPending) before it returns. Index rows go with their resource
// (ON DELETE CASCADE).

// writeIndex replaces the index rows of typ/id with those of v, stored
// at updated. fresh skips the delete for a resource stored for the first
// time.
func (tx *Tx) writeIndex(ctx context.Context, op, typ, id string, v *fhir.Value, updated time.Time, fresh bool) error {
	if !fresh {
		if _, err := tx.exec(ctx, op, qDeleteIndex, typ, id); err != nil {
			return err
		}
	}
	entries := searchindex.Entries(typ, v, updated)
	// seq (the row's place in entries) makes (type, id, param, seq) the
	// table's key.
	row := func(seq int, e searchindex.Entry) []any {
		var lo, hi any
		if e.Low != 0 || e.High != 0 {
			lo, hi = e.Low, e.High
		}
		return []any{typ, id, e.Param, seq, e.System, e.Text, e.Exact, lo, hi}
	}
	if tx.s.dialect == sqliteDialect {
		// In process, a prepared statement per row costs less than
		// parsing one statement of many rows.
		for i, e := range entries {
			if _, err := tx.exec(ctx, op, qInsertIndex, row(i, e)...); err != nil {
				return err
			}
		}
		return nil
	}
	// Over the network, one statement (one round trip) per indexChunk
	// rows.
	for done := 0; done < len(entries); {
		n := min(len(entries)-done, indexChunk)
		var b strings.Builder
		b.WriteString(`INSERT INTO resource_index
			(type, id, param, seq, value_system, value_text, value_exact, value_low, value_high) VALUES `)
		args := make([]any, 0, 9*n)
		for i, e := range entries[done : done+n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, row(done+i, e)...)
		}
		if _, err := tx.exec(ctx, op, b.String(), args...); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// indexChunk is how many index rows one INSERT carries on PostgreSQL (9
// arguments each).
const indexChunk = 64

// indexBatch is how many pending resources one backfill transaction
// indexes.
const indexBatch = 500

// indexPending indexes the resources listed in resource_index_pending,
// indexBatch per transaction, until none is left, then (on PostgreSQL)
// analyzes the index when it wrote any. Each resource is read
// and re-indexed inside the transaction (locked on PostgreSQL), so a put
// running meanwhile cannot be overwritten with an older version's rows;
// several processes may run it at once.
func (s *Store) indexPending(ctx context.Context) error {
	const op = "indexing stored resources for search"
	total := 0
	for {
		done := 0
		err := s.InTx(ctx, func(tx *Tx) error {
			q := `SELECT type, id FROM resource_index_pending ORDER BY type, id LIMIT ?`
			if s.dialect == postgresDialect {
				q += ` FOR UPDATE SKIP LOCKED`
			}
			rows, err := tx.QueryContext(ctx, s.rebind(q), indexBatch)
			if err != nil {
				return s.classify(op, err)
			}
			var keys [][2]string
			for rows.Next() {
				var k [2]string
				if err := rows.Scan(&k[0], &k[1]); err != nil {
					rows.Close()
					return s.classify(op, err)
				}
				keys = append(keys, k)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return s.classify(op, err)
			}
			for _, k := range keys {
				if err := tx.reindex(ctx, op, k[0], k[1]); err != nil {
					return err
				}
				if _, err := tx.exec(ctx, op, `DELETE FROM resource_index_pending WHERE type = ? AND id = ?`, k[0], k[1]); err != nil {
					return err
				}
			}
			done = len(keys)
			return nil
		})
		if err != nil {
			return err
		}
		total += done
		if done == 0 {
			break
		}
	}
	if total > 0 && s.dialect == postgresDialect {
		// Statistics for the planner now rather than when autovacuum
		// gets to the new rows: without them the first searches plan
		// as if the index were empty.
		if _, err := s.db.ExecContext(ctx, `ANALYZE resource_index`); err != nil {
			return s.classify(op, err)
		}
	}
	return nil
}

// reindex rewrites the index rows of typ/id from its current version; a
// resource without one, or whose body is not a JSON object, keeps none.
func (tx *Tx) reindex(ctx context.Context, op, typ, id string) error {
	var body []byte
	var at time.Time
	err := tx.s.row(ctx, tx, op, `SELECT v.body, r.updated_at
		FROM resources r JOIN resource_versions v
		  ON v.type = r.type AND v.id = r.id AND v.version = r.version
		WHERE r.type = ? AND r.id = ? AND `+currentCond("r")+tx.s.forUpdateOf("r"),
		[]any{typ, id}, &body, looseTime{&at})
	if errors.Is(err, ErrNotFound) {
		_, err = tx.exec(ctx, op, qDeleteIndex, typ, id)
		return err
	}
	if err != nil {
		return err
	}
	v, derr := decodeObject(body)
	if derr != nil {
		_, err = tx.exec(ctx, op, qDeleteIndex, typ, id)
		return err
	}
	return tx.writeIndex(ctx, op, typ, id, v, at, false)
}

// forUpdateOf is forUpdate locking only the rows of table alias a.
func (s *Store) forUpdateOf(a string) string {
	if s.dialect == postgresDialect {
		return " FOR UPDATE OF " + a
	}
	return ""
}

// currentCond is the condition that makes a row of resources (alias a)
// a current resource, for the search queries: every search selects
// through it, so a marker that hides resources from search belongs here.
func currentCond(a string) string {
	return a + ".version > 0 AND " + a + ".deleted = 0"
}

// MatchKind says how an [IndexMatch] compares an index row.
type MatchKind int

// The index comparisons.
const (
	// MatchText: the row's text equals Text (a token code or value
	// whatever its system, a reference Type/id).
	MatchText MatchKind = iota
	// MatchToken: system equals System and text equals Text.
	MatchToken
	// MatchSystem: system equals System (any text).
	MatchSystem
	// MatchPrefix: the (folded) text starts with Text.
	MatchPrefix
	// MatchContains: the (folded) text contains Text.
	MatchContains
	// MatchExact: the string as written equals Text.
	MatchExact
	// MatchDate: the row's date range compares to [Low, High) by Prefix
	// as R4 defines for eq, ne, gt, lt, ge, le, sa and eb; for ap the
	// row's range overlaps [Low, High), which the caller has already
	// widened by the approximation.
	MatchDate
)

// IndexMatch is one comparison with an index row.
type IndexMatch struct {
	Kind MatchKind
	// System and Text are the values compared (see MatchKind).
	System, Text string
	// Prefix and [Low, High) (Unix microseconds) are a date comparison.
	Prefix    string
	Low, High int64
}

// IndexCond selects resources by the index rows of one parameter.
type IndexCond struct {
	// Param is the parameter name.
	Param string
	// Any: a resource is selected when one of its rows of Param matches
	// one of these. Empty: when it has any row of Param.
	Any []IndexMatch
	// Negate selects the resources that the condition would not.
	Negate bool
}

// IndexCursor is the position after which a paged search resumes: the
// sort key and id of the last resource returned.
type IndexCursor struct {
	Key int64
	ID  string
}

// IndexQuery selects current resources of one type through the search
// index.
type IndexQuery struct {
	// Type is the resource type.
	Type string
	// IDs, when not empty, keeps the resources with one of these ids.
	IDs []string
	// Conds must all hold.
	Conds []IndexCond
	// Sort is "" (by id) or a date parameter (such as "date" or
	// "_lastUpdated") to order by: ascending by its earliest value, or
	// with Desc descending by its latest; resources without one come
	// last; ties go by id.
	Sort string
	Desc bool
	// After resumes after a resource returned before (nil: from the
	// first).
	After *IndexCursor
	// Limit caps the resources returned (1 to MaxSearchLimit).
	Limit int
	// Total asks SearchIndex to count every resource selected (After
	// and Limit aside) in the same statement; not with After.
	Total bool
}

// Bounds on an IndexQuery, each value being a query argument.
const (
	// MaxSearchLimit is a page of server.MaxCount and one more, which
	// tells whether another page follows.
	MaxSearchLimit   = 1001
	maxSearchIDs     = 100
	maxSearchConds   = 32
	maxSearchMatches = 100
)

// SearchIndex calls fn with the current version of each resource q
// selects, in q's order, with the sort key to resume after it
// (IndexCursor.Key), and stops at fn's first error (passed on
// unchanged). With q.Total it returns how many resources q selects in
// all (one statement for the page and the count), else -1. Like
// [Store.Current], fn must not call InTx. Errors name the type and
// parameters only, never a value.
func (s *Store) SearchIndex(ctx context.Context, q IndexQuery, fn func(id string, version int, body []byte, key int64) error) (total int, err error) {
	op := "searching " + q.Type + " resources"
	if q.Limit < 1 || q.Limit > MaxSearchLimit {
		return -1, fmt.Errorf("%s: limit %d, want 1 to %d", op, q.Limit, MaxSearchLimit)
	}
	if q.Total && q.After != nil {
		return -1, fmt.Errorf("%s: a total is counted on the first page only", op)
	}
	from, wargs, err := indexFrom(q)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", op, err)
	}
	key, kargs := "0", []any(nil)
	if q.Sort != "" {
		agg, none := "MIN", searchindex.MaxDate
		if q.Desc {
			agg, none = "MAX", searchindex.MinDate
		}
		key = `COALESCE((SELECT ` + agg + `(x.value_low) FROM resource_index x
			WHERE x.type = r.type AND x.id = r.id AND x.param = ?), ?)`
		kargs = []any{q.Sort, none}
	}
	args := append(kargs, wargs...)
	resume := ""
	if q.After != nil {
		cmp := ">"
		if q.Desc {
			cmp = "<"
		}
		resume = ` WHERE (s0.k ` + cmp + ` ? OR (s0.k = ? AND s0.id > ?))`
		args = append(args, q.After.Key, q.After.Key, q.After.ID)
	}
	dir := ""
	if q.Desc {
		dir = " DESC"
	}
	args = append(args, q.Limit)
	// The page is chosen on resources and the index alone; only its rows
	// read their bodies.
	count := "-1"
	if q.Total {
		count = "COUNT(*) OVER ()"
	}
	query := `SELECT s.id, v.version, v.body, s.k, s.n FROM (
		SELECT s0.type, s0.id, s0.version, s0.k, ` + count + ` AS n FROM (
			SELECT r.type, r.id, r.version, ` + key + ` AS k ` + from + `
		) s0` + resume + ` ORDER BY s0.k` + dir + `, s0.id LIMIT ?
	) s JOIN resource_versions v ON v.type = s.type AND v.id = s.id AND v.version = s.version
	ORDER BY s.k` + dir + `, s.id`
	rows, err := s.db.QueryContext(ctx, s.rebind(query), args...)
	if err != nil {
		return -1, s.classify(op, err)
	}
	defer rows.Close()
	total = -1
	if q.Total {
		total = 0 // no row: nothing matched
	}
	for rows.Next() {
		var id string
		var version int
		var body []byte
		var k, n int64
		if err := rows.Scan(&id, &version, &body, &k, &n); err != nil {
			return -1, s.classify(op, err)
		}
		if q.Total {
			total = int(n)
		}
		if err := fn(id, version, body, k); err != nil {
			return -1, err
		}
	}
	if err := rows.Err(); err != nil {
		return -1, s.classify(op, err)
	}
	return total, nil
}

// CountIndex returns how many current resources q selects (its sort,
// position and limit aside).
func (s *Store) CountIndex(ctx context.Context, q IndexQuery) (int, error) {
	op := "counting " + q.Type + " resources"
	from, args, err := indexFrom(q)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	var n int
	err = s.row(ctx, s.db, op, `SELECT COUNT(*) `+from, args, &n)
	return n, err
}

// indexFrom is the FROM and WHERE clauses (over resources r, with '?'
// arguments) selecting q's type, ids and conditions. The ids matching
// the conditions are computed once, as one set (the positive conditions
// intersected, the negated ones taken away), and joined to resources:
// written as a correlated IN per condition, PostgreSQL without fresh
// statistics re-ran each subquery per resource (minutes on 10,000).
func indexFrom(q IndexQuery) (string, []any, error) {
	if len(q.IDs) > maxSearchIDs {
		return "", nil, fmt.Errorf("%d ids, at most %d", len(q.IDs), maxSearchIDs)
	}
	if len(q.Conds) > maxSearchConds {
		return "", nil, fmt.Errorf("%d conditions, at most %d", len(q.Conds), maxSearchConds)
	}
	var pos, neg []string
	var posArgs, negArgs []any
	for _, c := range q.Conds {
		if len(c.Any) > maxSearchMatches {
			return "", nil, fmt.Errorf("parameter %s: %d values, at most %d", c.Param, len(c.Any), maxSearchMatches)
		}
		sub := `SELECT x.id FROM resource_index x WHERE x.type = ? AND x.param = ?`
		args := []any{q.Type, c.Param}
		if len(c.Any) > 0 {
			ors := make([]string, len(c.Any))
			for i, m := range c.Any {
				sql, margs, err := m.sql()
				if err != nil {
					return "", nil, fmt.Errorf("parameter %s: %w", c.Param, err)
				}
				ors[i] = "(" + sql + ")"
				args = append(args, margs...)
			}
			sub += " AND (" + strings.Join(ors, " OR ") + ")"
			sub += valueCond(c.Any)
		}
		if c.Negate {
			neg, negArgs = append(neg, sub), append(negArgs, args...)
		} else {
			pos, posArgs = append(pos, sub), append(posArgs, args...)
		}
	}
	from := "FROM resources r"
	var args []any
	if len(q.Conds) > 0 {
		if len(pos) == 0 {
			pos, posArgs = []string{`SELECT x.id FROM resources x WHERE x.type = ?`}, []any{q.Type}
		}
		set := strings.Join(pos, " INTERSECT ")
		if len(neg) > 0 {
			set += " EXCEPT " + strings.Join(neg, " EXCEPT ")
		}
		from = "FROM (" + set + ") m JOIN resources r ON r.id = m.id"
		args = append(posArgs, negArgs...)
	}
	conds := []string{"r.type = ?", currentCond("r")}
	args = append(args, q.Type)
	if len(q.IDs) > 0 {
		conds = append(conds, "r.id IN ("+placeholders(len(q.IDs))+")")
		for _, id := range q.IDs {
			args = append(args, id)
		}
	}
	return from + " WHERE " + strings.Join(conds, " AND "), args, nil
}

// valueCond is a term (" AND ...") that every one of ms implies and
// that lets the planners search resource_index_value by range, or "".
func valueCond(ms []IndexMatch) string {
	if slices.ContainsFunc(ms, func(m IndexMatch) bool { return m.Kind != MatchDate }) {
		return ""
	}
	// A date row has no text and no system, so its range follows them in
	// resource_index_value.
	return " AND x.value_text = '' AND x.value_system = ''"
}

// placeholders returns n comma-separated '?'.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// sql is the condition of m on index row x, with its arguments.
func (m IndexMatch) sql() (string, []any, error) {
	switch m.Kind {
	case MatchText:
		return "x.value_text = ?", []any{m.Text}, nil
	case MatchToken:
		return "x.value_system = ? AND x.value_text = ?", []any{m.System, m.Text}, nil
	case MatchSystem:
		return "x.value_system = ?", []any{m.System}, nil
	case MatchExact:
		// value_text is the folded form of value_exact, and is indexed.
		return "x.value_text = ? AND x.value_exact = ?", []any{searchindex.FoldedKey(m.Text), m.Text}, nil
	case MatchPrefix:
		if up, ok := prefixEnd(m.Text); ok {
			return "x.value_text >= ? AND x.value_text < ?", []any{m.Text, up}, nil
		}
		return "x.value_text >= ?", []any{m.Text}, nil
	case MatchContains:
		return `x.value_text LIKE ? ESCAPE '!'`, []any{"%" + likeEscape(m.Text) + "%"}, nil
	case MatchDate:
		lo, hi := m.Low, m.High
		eq := "(x.value_low >= ? AND x.value_high <= ?)"
		switch m.Prefix {
		case "eq":
			return eq, []any{lo, hi}, nil
		case "ne":
			return "NOT " + eq, []any{lo, hi}, nil
		case "gt":
			return "x.value_high > ?", []any{hi}, nil
		case "lt":
			return "x.value_low < ?", []any{lo}, nil
		case "ge":
			return "x.value_high > ? OR " + eq, []any{hi, lo, hi}, nil
		case "le":
			return "x.value_low < ? OR " + eq, []any{lo, lo, hi}, nil
		case "sa":
			return "x.value_low >= ?", []any{hi}, nil
		case "eb":
			return "x.value_high <= ?", []any{lo}, nil
		case "ap":
			return "(x.value_low < ? AND x.value_high > ?)", []any{hi, lo}, nil
		}
		return "", nil, fmt.Errorf("unsupported date prefix")
	}
	return "", nil, fmt.Errorf("unknown match kind %d", m.Kind)
}

// prefixEnd returns the least string above every string that starts with
// p (in code point order, which is byte order of UTF-8): p with its last
// code point incremented, dropping trailing U+10FFFF. ok is false when
// there is none (p empty or all U+10FFFF).
func prefixEnd(p string) (string, bool) {
	rs := []rune(p)
	for len(rs) > 0 {
		last := rs[len(rs)-1]
		switch {
		case last == 0x10FFFF || last < 0:
			rs = rs[:len(rs)-1]
			continue
		case last == 0xD7FF:
			rs[len(rs)-1] = 0xE000
		default:
			rs[len(rs)-1] = last + 1
		}
		return string(rs), true
	}
	return "", false
}

// likeEscape escapes the LIKE wildcards of s with '!'.
func likeEscape(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return r.Replace(s)
}

// looseTime scans a timestamp column written by any version of the store
// or by hand: a time, the store's layout or RFC 3339. An unreadable
// value leaves the zero time (the resource is then indexed with that
// _lastUpdated rather than not at all).
type looseTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (c looseTime) Scan(v any) error {
	var s string
	switch x := v.(type) {
	case time.Time:
		*c.t = x.UTC()
		return nil
	case string:
		s = x
	case []byte:
		s = string(x)
	}
	for _, layout := range []string{sqliteTimeLayout, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			*c.t = t.UTC()
			return nil
		}
	}
	*c.t = time.Time{}
	return nil
}
