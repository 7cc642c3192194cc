package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// indexRows returns every row of resource_index as text, sorted.
func indexRows(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT type, id, param, value_system, value_text, value_exact,
		COALESCE(value_low, 0), COALESCE(value_high, 0) FROM resource_index`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, id, param, sys, text, exact string
		var lo, hi int64
		if err := rows.Scan(&typ, &id, &param, &sys, &text, &exact, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(typ, id, param, sys, text, exact, lo, hi))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// searchIDs returns the ids q selects.
func searchIDs(t *testing.T, s *Store, q IndexQuery) []string {
	t.Helper()
	var ids []string
	q.Limit = MaxSearchLimit
	_, err := s.SearchIndex(context.Background(), q, func(id string, _ int, _ []byte, _ int64) error {
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// testSearchIndex: a put rewrites the index rows of the new version;
// resources stored before migration 0006 (pending) are indexed on Open,
// in batches, to the same rows a put writes.
func testSearchIndex(t *testing.T, url string, open func(*testing.T, string) *Store) {
	ctx := context.Background()
	s := open(t, url)
	const n = indexBatch*2 + 7
	err := s.InTx(ctx, func(tx *Tx) error {
		for i := range n {
			body := fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","name":[{"family":"Fam%d"}],"birthDate":"1990-01-%02d"}`, i, i%10, 1+i%28)
			if _, _, err := tx.PutResource(ctx, "Patient", fmt.Sprintf("p%d", i), []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	famQ := func(v string) IndexQuery {
		return IndexQuery{Type: "Patient", Conds: []IndexCond{{Param: "family", Any: []IndexMatch{{Kind: MatchExact, Text: v}}}}}
	}
	if got := len(searchIDs(t, s, famQ("Fam3"))); got != (n+6)/10 {
		t.Fatalf("family Fam3: %d, want %d", got, (n+6)/10)
	}
	// A new version replaces the rows of the old one.
	if _, _, err := putTx(s, "Patient", "p3", []byte(`{"resourceType":"Patient","id":"p3","name":[{"family":"`+canary+`"}]}`)); err != nil {
		t.Fatal(err)
	}
	if got := searchIDs(t, s, famQ(canary)); !slices.Equal(got, []string{"p3"}) {
		t.Errorf("after the new version: %v, want p3", got)
	}
	if got := len(searchIDs(t, s, famQ("Fam3"))); got != (n+6)/10-1 {
		t.Errorf("old family after the new version: %d, want %d", got, (n+6)/10-1)
	}
	// A first page counts every match in the same statement.
	for _, fam := range []string{"Fam3", "nobody"} {
		q := famQ(fam)
		want, err := s.CountIndex(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		q.Total, q.Limit = true, 1
		rows := 0
		got, err := s.SearchIndex(ctx, q, func(string, int, []byte, int64) error { rows++; return nil })
		if err != nil || got != want || rows != min(want, 1) {
			t.Errorf("family %s: total %d over %d rows (%v), want %d", fam, got, rows, err, want)
		}
	}
	want := indexRows(t, s)
	if len(want) < 3*n {
		t.Fatalf("%d index rows for %d Patients", len(want), n)
	}
	// Back to before 0006: no rows, every resource pending (and one that
	// no longer exists).
	for _, q := range []string{`DELETE FROM resource_index`,
		`INSERT INTO resource_index_pending (type, id) SELECT type, id FROM resources`,
		`INSERT INTO resource_index_pending (type, id) VALUES ('Patient', 'gone')`} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, url)
	if got := indexRows(t, s); !slices.Equal(got, want) {
		t.Errorf("backfilled index: %d rows, want the %d a put writes", len(got), len(want))
	}
	var pending int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM resource_index_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("pending after Open: %d (%v)", pending, err)
	}
	// Bounds are errors that name counts, never values.
	q := famQ(canary)
	q.Conds[0].Any = slices.Repeat(q.Conds[0].Any, maxSearchMatches+1)
	q.Limit = 1
	_, err = s.SearchIndex(ctx, q, func(string, int, []byte, int64) error { return nil })
	if err == nil || strings.Contains(err.Error(), canary) {
		t.Errorf("too many values: %v", err)
	}
	if _, err := s.CountIndex(ctx, IndexQuery{Type: "Patient", IDs: make([]string, maxSearchIDs+1)}); err == nil {
		t.Error("too many ids accepted")
	}
}

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abd", true},
		{"mü", "mý", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF", "", false},
		{"\uD7FF", "\uE000", true},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := prefixEnd(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && !(tt.in < got && strings.HasPrefix(tt.in+"\U0010FFFF", tt.in)) {
			t.Errorf("prefixEnd(%q) = %q is not above the prefix", tt.in, got)
		}
	}
}

// BenchmarkIndexBackfill10kSQLite measures indexing 10,000 Patients
// stored before migration 0006 (what Open does once after the upgrade).
func BenchmarkIndexBackfill10kSQLite(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10_000
	for i := 0; i < n; i += 1000 {
		err := s.InTx(ctx, func(tx *Tx) error {
			for j := i; j < i+1000; j++ {
				body := fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"urn:mrn","value":"M%d"}],"name":[{"family":"Fam%d","given":["G%d"]}],"gender":"female","birthDate":"1990-01-%02d"}`, j, j, j%100, j, 1+j%28)
				if _, _, err := tx.PutResource(ctx, "Patient", fmt.Sprintf("p%d", j), []byte(body)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		b.StopTimer()
		for _, q := range []string{`DELETE FROM resource_index`, `INSERT INTO resource_index_pending (type, id) SELECT type, id FROM resources`} {
			if _, err := s.db.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := s.indexPending(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "resources/op")
}
