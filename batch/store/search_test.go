package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

var searchT0 = time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)

// testSearch: CurrentWhere selects what a scan of every current resource
// re-checked in Go selects, in id order.
func testSearch(t *testing.T, s *Store) {
	ctx := context.Background()
	for i, p := range []struct{ id, start, status string }{
		{"a", "2026-12-01T06:00:00Z", "booked"},
		{"b", "2026-12-01T07:00:00+01:00", "cancelled"},
		{"c", "2026-12-02T06:00:00.5Z", "pending"},
		{"d", "", "booked"},
		{"e", "2026-12-01", "proposed"},
		{"f", "2026-11-30T05:59:59Z", "booked"},
		{"g", "2026-12-04T06:00:00Z", ""},
		{"b", "2026-12-01T06:30:00Z", "booked"}, // a second version moves b
	} {
		body := `{"resourceType":"Appointment","id":"` + p.id + `"`
		if p.start != "" {
			body += `,"start":"` + p.start + `"`
		}
		if p.status != "" {
			body += `,"status":"` + p.status + `"`
		}
		if _, _, err := putTx(s, "Appointment", p.id, []byte(body+"}")); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if _, _, err := putTx(s, "Slot", "s1", []byte(`{"resourceType":"Slot","start":"2026-12-01T06:00:00Z","status":"free"}`)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		f    Filter
		want string
	}{
		{"no filter", Filter{}, "a,b,c,d,e,f,g"},
		{"window", Filter{StartFrom: searchT0, StartBefore: searchT0.Add(48 * time.Hour)}, "a,b,c"},
		{"from only", Filter{StartFrom: searchT0.Add(time.Hour)}, "c,g"},
		{"before only", Filter{StartBefore: searchT0}, "f"},
		{"statuses", Filter{Statuses: []string{"booked", "pending"}}, "a,b,c,d,f"},
		{"statuses and start or none", Filter{Statuses: []string{"booked", "proposed"}, StartFrom: searchT0, NoStartToo: true}, "a,b,d,e"},
		{"unknown status", Filter{Statuses: []string{"nope"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := s.CurrentWhere(ctx, "Appointment", tc.f, func(id string, _ int, body []byte) error {
				v, err := fhir.Decode(body, fhir.DecodeOptions{})
				if err != nil {
					return err
				}
				// The selection is a prefilter within SearchSlack: re-check as callers do.
				if st, err := time.Parse(time.RFC3339Nano, v.GetString("start")); err == nil {
					if (!tc.f.StartFrom.IsZero() && st.Before(tc.f.StartFrom)) || (!tc.f.StartBefore.IsZero() && !st.Before(tc.f.StartBefore)) {
						return nil
					}
				}
				got = append(got, id)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, ","); g != tc.want {
				t.Errorf("selected %q, want %q", g, tc.want)
			}
		})
	}
	if n, err := s.CountCurrent(ctx, "Appointment"); err != nil || n != 7 {
		t.Errorf("CountCurrent = %d, %v; want 7", n, err)
	}
	if err := s.CurrentWhere(ctx, "Appointment", Filter{Statuses: make([]string, 101)}, nil); err == nil {
		t.Error("101 statuses accepted")
	}
}

// testSearchBackfill: the migration's SQL fills the search columns as
// the store's put does (start within SQLite's millisecond), and leaves a
// malformed body's columns NULL without failing.
func testSearchBackfill(t *testing.T, s *Store) {
	ctx := context.Background()
	starts := []string{
		"2026-12-01T06:00:00Z", "2026-12-01T06:00:00+01:00", "2026-12-01T06:00:00-09:30",
		"2026-12-01T06:00:00.123456Z", "2026-12-01T06:00:00.123456789+02:00", "2026-12-01T06:00:00,5Z",
		"2026-12-01", "2026-12-01T06:00Z", "2026-12-01t06:00:00z", "2026-12-01T24:00:00Z",
		"2026-02-29T06:00:00Z", "2026-12-01T06:00:60Z", "2026-12-01T06:00:00+0100", "2026-12-01T06:00:00.Z",
		"2026-13-01T06:00:00Z", "2026-12-01T06:00:00", "", "x", "2026-12-01T06:00:00+01:00junk",
	}
	for i, st := range starts {
		body := fmt.Sprintf(`{"resourceType":"Appointment","start":%q,"status":"booked"}`, st)
		if _, _, err := putTx(s, "Appointment", fmt.Sprintf("a%02d", i), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{
		`{"resourceType":"Patient","status":7}`,
		`{"resourceType":"Slot","start":{"x":1},"status":"` + strings.Repeat("s", 65) + `"}`,
		`{"resourceType":"Encounter","start":"2026-12-01T06:00:00Z","status":"finished"}`,
	} {
		v, _ := fhir.Decode([]byte(b), fhir.DecodeOptions{})
		if _, _, err := putTx(s, v.ResourceType(), "o", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	// Malformed bodies the store itself never writes: the step must cope.
	for i, body := range [][]byte{[]byte(`{"start":"2026-12-01T06:00:00Z"`), {0xff, 0xfe}, []byte(`"just a string"`), []byte(`{"status":"a\u0000b"}`)} {
		id := fmt.Sprintf("bad%d", i)
		if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO resources (type, id, version, sha256, updated_at) VALUES ('Appointment', ?, 1, 'x', ?)`), id, s.ts(searchT0)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO resource_versions (type, id, version, sha256, body, created_at) VALUES ('Appointment', ?, 1, 'x', ?, ?)`), id, body, s.ts(searchT0)); err != nil {
			t.Fatal(err)
		}
	}
	type cols struct {
		start  sql.NullInt64
		status sql.NullString
	}
	read := func() map[string]cols {
		rows, err := s.db.QueryContext(ctx, `SELECT type, id, start_at, status FROM resources ORDER BY type, id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]cols{}
		for rows.Next() {
			var typ, id string
			var c cols
			if err := rows.Scan(&typ, &id, &c.start, &c.status); err != nil {
				t.Fatal(err)
			}
			m[typ+"/"+id] = c
		}
		return m
	}
	want := read()
	src, err := fs.ReadFile(migrationFS, "migrations/"+s.dialect.String()+"/0004_resource_search.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE resources SET start_at = 12345, status = 'junk'`); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range splitStatements(string(src)) {
		if strings.HasPrefix(stmt, "ALTER") || strings.HasPrefix(stmt, "CREATE INDEX") {
			continue
		}
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("backfill: %v", err)
		}
	}
	got := read()
	for k, w := range want {
		g := got[k]
		if strings.Contains(k, "/bad") {
			w = cols{} // inserted without search columns: the backfill reads them
		}
		closeEnough := g.start.Valid == w.start.Valid && (!w.start.Valid || abs(g.start.Int64-w.start.Int64) <= 500)
		// bad3's status holds a NUL, which PostgreSQL's jsonb refuses (NULL)
		// and SQLite keeps: either is fine for a prefilter.
		if !closeEnough || (g.status != w.status && k != "Appointment/bad3") {
			t.Errorf("%s: backfill %+v, put %+v", k, g, w)
		}
	}
	if c := want["Appointment/a00"]; !c.start.Valid || c.start.Int64 != searchT0.UnixMicro() || c.status.String != "booked" {
		t.Errorf("put stored %+v for a plain start", c)
	}
	if c := want["Appointment/a03"]; c.start.Int64 != searchT0.UnixMicro()+123456 {
		t.Errorf("put stored %+v for a start in microseconds", c)
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// testSearchPlan: the scheduled queries (the export window on start, the
// status poll on status) read through their indexes, not a scan of the
// resources table, once it holds a realistic number of rows.
func testSearchPlan(t *testing.T, s *Store) {
	ctx := context.Background()
	statuses := []string{"fulfilled", "cancelled", "noshow", "fulfilled", "booked"}
	err := s.InTx(ctx, func(tx *Tx) error {
		for i := range 4000 {
			st := searchT0.Add(time.Duration(i-3000) * 3 * time.Hour)
			status := statuses[i%len(statuses)]
			if i < 3000 {
				status = statuses[i%4]
			}
			body := fmt.Sprintf(`{"resourceType":"Appointment","start":%q,"status":%q}`, st.Format(time.RFC3339), status)
			if _, _, err := tx.PutResource(ctx, "Appointment", fmt.Sprintf("ap%05d", i), []byte(body)); err != nil {
				return err
			}
			if _, _, err := tx.PutResource(ctx, "Patient", fmt.Sprintf("pa%05d", i), []byte(`{"resourceType":"Patient","active":true}`)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		f     Filter
		index string
	}{
		{"export window", Filter{StartFrom: searchT0.Add(-24 * time.Hour), StartBefore: searchT0.Add(72 * time.Hour)}, "resources_start"},
		{"status poll", Filter{Statuses: []string{"proposed", "pending", "booked", "arrived", "checked-in", "waitlist"},
			StartFrom: searchT0.Add(-7 * 24 * time.Hour), NoStartToo: true}, "resources_status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, args := s.whereQuery(`SELECT r.id, v.version, v.body
		FROM resources r JOIN resource_versions v
		  ON v.type = r.type AND v.id = r.id AND v.version = r.version`, "Appointment", tc.f)
			plan := explain(t, s, q+` ORDER BY r.id`, args, false)
			t.Logf("plan:\n%s", plan)
			if !strings.Contains(plan, tc.index) {
				t.Errorf("plan does not use %s:\n%s", tc.index, plan)
			}
			if s.dialect == postgresDialect && regexpSeqResources(plan) {
				t.Errorf("plan scans resources sequentially:\n%s", plan)
			}
			if s.dialect == postgresDialect {
				// On a table this small the planner may hash-join the
				// versions; forbidding scans shows that every table is
				// reachable through its keys, as on a large one.
				if plan := explain(t, s, q+` ORDER BY r.id`, args, true); strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, tc.index) {
					t.Errorf("with enable_seqscan off, the plan still scans or misses %s:\n%s", tc.index, plan)
				}
			}
			if s.dialect == sqliteDialect && !strings.Contains(plan, "SEARCH r USING INDEX "+tc.index) {
				t.Errorf("plan does not search resources by %s:\n%s", tc.index, plan)
			}
		})
	}
}

// regexpSeqResources reports a sequential scan of resources in a
// PostgreSQL plan.
func regexpSeqResources(plan string) bool {
	return slices.ContainsFunc(strings.Split(plan, "\n"), func(l string) bool {
		return strings.Contains(l, "Seq Scan on resources ")
	})
}

// explain returns the dialect's plan of q as text.
// noSeqScan (PostgreSQL) plans with enable_seqscan off.
func explain(t *testing.T, s *Store, q string, args []any, noSeqScan bool) string {
	t.Helper()
	ctx := context.Background()
	prefix := "EXPLAIN "
	if s.dialect == sqliteDialect {
		prefix = "EXPLAIN QUERY PLAN "
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if noSeqScan {
		if _, err := conn.ExecContext(ctx, `SET enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, `RESET enable_seqscan`)
	}
	rows, err := conn.QueryContext(ctx, prefix+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, fmt.Sprint(vals[len(vals)-1]))
	}
	return b.String()
}
