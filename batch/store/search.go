package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// Search columns (store migration 0004). The resources table carries two
// columns that the queries run on a schedule select by, kept by the store
// on every put of a resource (see [Tx.PutResource]) and indexed with the
// type: start_at, the start instant in Unix microseconds of the types
// named in searchStart, and status, the resource's top-level status code.
// They are prefilters: a reader selects candidates with them (with some
// slack at time bounds, see [SearchSlack]) and re-checks the body, so a
// difference in how the migration's SQL and Go read an instant (SQLite
// rounds to the millisecond) never changes a result.

// searchStart names, per resource type, the element whose instant fills
// start_at.
var searchStart = map[string]string{"Appointment": "start", "Slot": "start"}

// maxSearchStatus bounds the status kept in the status column (FHIR
// status codes are short); a longer one is stored as NULL.
const maxSearchStatus = 64

// SearchSlack is how far outside its bounds [Store.CurrentWhere] may
// return a resource: start_at is read at the millisecond by the
// migration on SQLite. Callers re-check the start in the body.
const SearchSlack = time.Second

// searchCols are the search column values of one resource version.
type searchCols struct {
	startAt sql.NullInt64
	status  sql.NullString
}

// searchColumns reads the search columns of a resource of typ from v:
// start_at when the type has a start element holding a date-time with
// zone ([time.RFC3339Nano]), status when v has a string status of 1 to
// maxSearchStatus bytes.
func searchColumns(typ string, v *fhir.Value) searchCols {
	var c searchCols
	if elem, ok := searchStart[typ]; ok {
		if t, err := time.Parse(time.RFC3339Nano, v.GetString(elem)); err == nil {
			c.startAt = sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
		}
	}
	if s := v.GetString("status"); s != "" && len(s) <= maxSearchStatus {
		c.status = sql.NullString{String: s, Valid: true}
	}
	return c
}

// Filter selects current resources of one type by their search columns.
// Every set field narrows the selection.
type Filter struct {
	// StartFrom and StartBefore bound the start instant: StartFrom <=
	// start < StartBefore, each bound widened by [SearchSlack]; a zero
	// bound is open. With either bound set, a resource without a readable
	// start is left out, unless NoStartToo.
	StartFrom, StartBefore time.Time
	// NoStartToo also selects resources whose start is absent or not a
	// date-time with zone, when a start bound is set.
	NoStartToo bool
	// Statuses, when not empty, keeps resources whose status is one of
	// them (at most 100).
	Statuses []string
}

// maxFilterStatuses bounds Filter.Statuses (each is a query parameter).
const maxFilterStatuses = 100

// CurrentWhere calls fn with the current version of every stored resource
// of typ that f selects, in id order, and stops at the first error fn
// returns (passed on unchanged). It reads through the indexes on
// (type, start_at) and (type, status), so its cost grows with the
// resources selected, not with all those stored. Like [Store.Current], fn
// may read the store but must not call InTx.
func (s *Store) CurrentWhere(ctx context.Context, typ string, f Filter, fn func(id string, version int, body []byte) error) error {
	op := "searching " + typ + " resources"
	if len(f.Statuses) > maxFilterStatuses {
		return fmt.Errorf("%s: %d statuses, at most %d", op, len(f.Statuses), maxFilterStatuses)
	}
	q, args := s.whereQuery(`SELECT r.id, v.version, v.body
		FROM resources r JOIN resource_versions v
		  ON v.type = r.type AND v.id = r.id AND v.version = r.version`, typ, f)
	return s.eachCurrent(ctx, op, q+` ORDER BY r.id`, args, fn)
}

// CountCurrent returns how many resources of typ are stored (with a
// current version that is not a deletion). It reads no body.
func (s *Store) CountCurrent(ctx context.Context, typ string) (int, error) {
	var n int
	err := s.row(ctx, s.db, "counting "+typ+" resources",
		`SELECT COUNT(*) FROM resources WHERE type = ? AND version > 0 AND deleted = 0`, []any{typ}, &n)
	return n, err
}

// whereQuery appends to base (a query over resources r) the conditions of
// typ and f, rebound for the dialect, with their arguments.
func (s *Store) whereQuery(base, typ string, f Filter) (string, []any) {
	conds := []string{"r.type = ?", "r.version > 0", "r.deleted = 0"}
	args := []any{typ}
	var start []string
	if !f.StartFrom.IsZero() {
		start = append(start, "r.start_at >= ?")
		args = append(args, f.StartFrom.Add(-SearchSlack).UnixMicro())
	}
	if !f.StartBefore.IsZero() {
		start = append(start, "r.start_at < ?")
		args = append(args, f.StartBefore.Add(SearchSlack).UnixMicro())
	}
	switch {
	case len(start) > 0 && f.NoStartToo:
		conds = append(conds, "(r.start_at IS NULL OR ("+strings.Join(start, " AND ")+"))")
	case len(start) > 0:
		conds = append(conds, start...)
	}
	if len(f.Statuses) > 0 {
		conds = append(conds, "r.status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	return s.rebind(base + " WHERE " + strings.Join(conds, " AND ")), args
}
