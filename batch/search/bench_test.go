package search

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/batch/store/storetest"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// BenchmarkSearchPatients10k searches 10,000 stored Patients on SQLite
// and PostgreSQL: a family prefix matching 100 of them (first page of 50
// and its total), a birth date range with a gender matching 1,333, and
// an identifier.
func BenchmarkSearchPatients10k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSearch(b, storetest.Open(b)) })
	for _, analyze := range []bool{false, true} {
		name := "postgres"
		if analyze {
			name += "-analyzed" // as autovacuum leaves it after a while
		}
		b.Run(name, func(b *testing.B) {
			url := pgtest.CreateDatabase(b, pgtest.Start(b), "search_bench")
			st, err := store.Open(context.Background(), url)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			benchSearch(b, st, func() {
				if !analyze {
					return
				}
				db, err := sql.Open("pgx", url)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec("ANALYZE"); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

func benchSearch(b *testing.B, st *store.Store, loaded ...func()) {
	const n = 10_000
	ctx := context.Background()
	for i := 0; i < n; i += 500 {
		var batch []string
		for j := i; j < i+500; j++ {
			gender := [...]string{"female", "male"}[j%2]
			batch = append(batch, fmt.Sprintf(`{"resourceType":"Patient","id":"p%05d","identifier":[{"system":"urn:mrn","value":"MRN%05d"}],"name":[{"family":"Fam%03d","given":["Given%d"]}],"gender":"%s","birthDate":"19%02d-%02d-%02d"}`,
				j, j, j%100, j, gender, 40+j%60, 1+j%12, 1+j%28))
		}
		put(b, st, batch...)
	}
	for _, fn := range loaded {
		fn()
	}
	s := &searcher{idx: st, typ: "Patient"}
	for _, bc := range []struct {
		name  string
		q     url.Values
		total int
	}{
		{"family", url.Values{"family": {"fam042"}}, 100},
		{"birthdate+gender", url.Values{"birthdate": {"ge1970", "lt1985"}, "gender": {"female"}}, 1333},
		{"identifier", url.Values{"identifier": {"urn:mrn|MRN04242"}}, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := server.SearchRequest{Params: bc.q, Count: server.DefaultCount}
			for b.Loop() {
				page, err := s.query(ctx, req)
				if err != nil || page.Total != bc.total {
					b.Fatalf("total %d (%v), want %d", page.Total, err, bc.total)
				}
			}
		})
	}
}
