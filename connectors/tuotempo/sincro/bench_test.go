package sincro

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// BenchmarkRefresh measures the full rebuild of the views' rows over a
// store of 200 Practitioners (each with a PractitionerRole), 1000
// Appointments and 500 Slots, and reports the cost of the observer per
// ingested resource (ingest-us/res, one resource per transaction).
func BenchmarkRefresh(b *testing.B) {
	base := pgtest.Start(b)
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE bench"); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, base+"/bench")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s, err := newWith(ctx, testConfig(), st, nil, nil, testViews, "")
	if err != nil {
		b.Fatal(err)
	}
	router := &delivery.Router{}
	router.Observe(s.Observer())
	var docs []string
	for i := range 200 {
		docs = append(docs,
			fmt.Sprintf(`{"resourceType":"Practitioner","id":"p%d","name":[{"family":"F%d","given":["G"]}]}`, i, i),
			fmt.Sprintf(`{"resourceType":"PractitionerRole","id":"r%d","practitioner":{"reference":"Practitioner/p%d"}}`, i, i))
	}
	docs = append(docs, `{"resourceType":"Schedule","id":"s1","actor":[{"reference":"Practitioner/p1"}]}`)
	for i := range 1000 {
		docs = append(docs, appointment(fmt.Sprintf("a%d", i), day(i%20-5)))
	}
	for i := range 500 {
		docs = append(docs, slot(fmt.Sprintf("s%d", i), day(i%10-2)))
	}
	start := time.Now()
	for _, d := range docs {
		put(b, st, router, d)
	}
	perRes := time.Since(start) / time.Duration(len(docs))
	b.ResetTimer()
	for b.Loop() {
		if err := s.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(perRes.Microseconds()), "ingest-us/res")
}
