package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// The message-list benchmark's store: benchMessages messages over 30 days
// ending at benchEnd, in a realistic mix (see fillMessages).
const benchMessages = 1_000_000

var benchEnd = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// benchStep is the time between two messages of the filled store.
const benchStep = 30 * 24 * time.Hour / benchMessages

// BenchmarkMessageList measures every listing the console's Messages
// page offers (each filter alone, the combinations it is used with, the
// first page and a deep page 25 days back) on a SQLite store holding
// 1,000,000 messages. Each must answer in 200 ms or less. The filled
// store is cached in $TMPDIR (or the system's temp dir) keyed by the
// store's schema version and a hash of its SQLite migrations, so only the first run pays the fill (a minute
// or so); remove fhirbridge-bench-messages-*.db to rebuild it:
//
//	go test -run '^$' -bench BenchmarkMessageList -benchtime 20x ./batch/store/
func BenchmarkMessageList(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("fhirbridge-bench-messages-v%d-%s.db", latestVersion(), schemaHash(b)))
	if _, err := os.Stat(path + ".done"); err != nil {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		s, err := Open(ctx, "sqlite://"+path)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := fillMessages(ctx, s); err != nil {
			b.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
		s.Close()
		b.Logf("filled %d messages in %v into %s", benchMessages, time.Since(start).Round(time.Second), path)
		if err := os.WriteFile(path+".done", nil, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(ctx, "sqlite://"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	runMessageList(b, s)
}

// BenchmarkMessageListPostgres is BenchmarkMessageList on a throwaway
// PostgreSQL cluster (filled on every run, which takes a few minutes):
//
//	go test -run '^$' -bench BenchmarkMessageListPostgres -benchtime 20x ./batch/store/
func BenchmarkMessageListPostgres(b *testing.B) {
	ctx := context.Background()
	base := pgtest.Start(b)
	s, err := Open(ctx, pgtest.CreateDatabase(b, base, "bench_messages"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := fillMessages(ctx, s); err != nil {
		b.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	runMessageList(b, s)
}

// runMessageList runs the page's listings on a filled store, each as a
// first page and as a deep page, reporting ms per page and failing a
// listing slower than 200 ms per page.
func runMessageList(b *testing.B, s *Store) {
	ctx := context.Background()
	deep := MessageCursor{At: benchEnd.Add(-25 * 24 * time.Hour), ID: benchMessages}
	day := benchEnd.Add(-10 * 24 * time.Hour)
	cases := []struct {
		name string
		q    MessageQuery
	}{
		{"all", MessageQuery{}},
		{"direction=in", MessageQuery{Direction: In}},
		{"direction=out", MessageQuery{Direction: Out}},
		{"status=dlq", MessageQuery{Status: StatusDeadLetter}},
		{"status=pending", MessageQuery{Status: StatusPending}},
		{"status=delivered", MessageQuery{Status: StatusDelivered}},
		{"kind=hl7v2", MessageQuery{Kind: "hl7v2.transaction"}},
		{"vendor=tyto", MessageQuery{Vendor: "tyto"}},
		{"vendor=tyto,status=dlq", MessageQuery{Vendor: "tyto", Status: StatusDeadLetter}},
		{"vendor=solo,status=accepted(none)", MessageQuery{Vendor: "solo", Status: StatusAccepted}},
		{"kind=hl7v2,status=dlq(none)", MessageQuery{Kind: "hl7v2.transaction", Status: StatusDeadLetter}},
		{"direction=in,status=dlq(none)", MessageQuery{Direction: In, Status: StatusDeadLetter}},
		{"direction=out,status=accepted(none)", MessageQuery{Direction: Out, Status: StatusAccepted}},
		{"kind=solo,vendor=tyto(none)", MessageQuery{Kind: "solo.create", Vendor: "tyto"}},
		{"resource,day", MessageQuery{ResourceID: benchResource(123457), Since: day, Until: day.Add(24 * time.Hour)}},
		{"resource", MessageQuery{ResourceID: benchResource(123457)}},
		{"resource,type", MessageQuery{ResourceType: "Appointment", ResourceID: benchResource(123457)}},
		{"identifier=bundle", MessageQuery{Identifier: benchIdentifier(400000)}},
		{"identifier=mrn", MessageQuery{Identifier: "urn:mrn|" + benchMRN(4321)}},
		{"vendor-id", MessageQuery{VendorID: benchVendorID(123457)}},
		{"day", MessageQuery{Since: day, Until: day.Add(24 * time.Hour)}},
		{"hour", MessageQuery{Since: day, Until: day.Add(time.Hour)}},
		{"day,status=dlq", MessageQuery{Since: day, Until: day.Add(24 * time.Hour), Status: StatusDeadLetter}},
		{"day,vendor=tyto,status=pending", MessageQuery{Since: day, Until: day.Add(24 * time.Hour), Vendor: "tyto", Status: StatusPending}},
		{"resource,status=delivered", MessageQuery{ResourceID: benchResource(123457), Status: StatusDelivered}},
		// the stages page: a version's jobs' attempts, what followed a message
		{"stages:jobs", MessageQuery{JobIDs: []int64{123457 / 2, 123458 / 2, 123459 / 2}}},
		{"stages:resource,out,since", MessageQuery{ResourceID: benchResource(123457), Direction: Out, Since: benchEnd.Add(-benchMessages * benchStep).Add(123456 * benchStep)}},
	}
	for _, c := range cases {
		for _, page := range []struct {
			name  string
			after MessageCursor
		}{{"first", MessageCursor{}}, {"deep", deep}} {
			b.Run(c.name+"/"+page.name, func(b *testing.B) {
				q := c.q
				q.After = page.after
				var n int
				for b.Loop() {
					got, _, err := s.SearchMessages(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					n = len(got)
				}
				per := b.Elapsed() / time.Duration(b.N)
				b.ReportMetric(float64(per.Microseconds())/1000, "ms/page")
				b.ReportMetric(float64(n), "rows")
				if per > 200*time.Millisecond {
					b.Errorf("%s: %v per page, over 200 ms", c.name, per)
				}
			})
		}
	}
}

// benchResource is the id of the resource message i is about.
func benchResource(i int) string { return fmt.Sprintf("ap-%07d", i/4) }

// benchIdentifier is the Bundle.identifier value of inbound message i.
func benchIdentifier(i int) string { return fmt.Sprintf("BNDL-%07d", i) }

// benchMRN is the MRN of patient p.
func benchMRN(p int) string { return fmt.Sprintf("MRN%06d", p) }

// benchVendorID is the vendor's id of the resource of message i.
func benchVendorID(i int) string { return fmt.Sprintf("V%07d", i/4) }

// fillMessages writes the benchmark's messages in one transaction with
// multi-row inserts. Message i is about resource i/4 (so a resource has
// an inbound message and its deliveries, retries and dead letters):
// 25% inbound ("fhir.transaction", every tenth "hl7v2.transaction"),
// each listing its Appointment and Patient and with its identifier hash;
// 75% outbound to four vendors, of which about 90% delivered, 6% retried
// (pending), 3% dead-lettered and 1% rejected, with a 300-byte body for
// the delivered. The crosswalk holds a vendor id per delivered resource
// and the identifier index an MRN per patient.
func fillMessages(ctx context.Context, s *Store) error {
	vendors := []string{"solo", "tyto", "bandyer", "vsee"}
	body := []byte(`{"mapped":"` + strings.Repeat("x", 286) + `"}`)
	start := benchEnd.Add(-benchMessages * benchStep)
	return s.InTx(ctx, func(tx *Tx) error {
		const rows = 200
		msgHead := `INSERT INTO messages (id, at, direction, kind, resource_type, resource_id, vendor, status, outcome, body,
			ident_hash, job_id, status_code, elapsed_us) VALUES `
		var msgs, links, cross, idents []string
		var margs, largs, cargs, iargs []any
		flush := func(head string, vals *[]string, args *[]any, force bool) error {
			if len(*vals) == 0 || (!force && len(*vals) < rows) {
				return nil
			}
			q := head + strings.Join(*vals, ", ")
			if _, err := tx.tx.ExecContext(ctx, s.rebind(q), *args...); err != nil {
				return fmt.Errorf("filling: %w", err)
			}
			*vals, *args = (*vals)[:0], (*args)[:0]
			return nil
		}
		flushAll := func(force bool) error {
			for _, f := range []struct {
				head string
				vals *[]string
				args *[]any
			}{
				{msgHead, &msgs, &margs},
				{`INSERT INTO message_resources (message_id, type, id, version) VALUES `, &links, &largs},
				{`INSERT INTO crosswalk (vendor, type, fhir_id, vendor_id, created_at) VALUES `, &cross, &cargs},
				{`INSERT INTO identifiers (type, system, value_hash, resource_id, created_at) VALUES `, &idents, &iargs},
			} {
				if err := flush(f.head, f.vals, f.args, force); err != nil {
					return err
				}
			}
			return nil
		}
		for i := range benchMessages {
			id := int64(i + 1)
			at := s.ts(start.Add(time.Duration(i) * benchStep))
			res := benchResource(i)
			patient := i / 4 % 50000
			vendor := vendors[i/4%len(vendors)]
			if i%4 == 0 {
				kind := "fhir.transaction"
				if i%40 == 0 {
					kind = "hl7v2.transaction"
				}
				msgs = append(msgs, "(?, ?, 'in', ?, '', '', '', 'accepted', 'stored', NULL, ?, 0, 0, 0)")
				margs = append(margs, id, at, kind, valueHash(benchIdentifier(i)))
				links = append(links, "(?, 'Appointment', ?, 1)", "(?, 'Patient', ?, 1)")
				largs = append(largs, id, res, id, fmt.Sprintf("pt-%06d", patient))
				if i/4 < 50000 {
					idents = append(idents, "(?, ?, ?, ?, ?)")
					iargs = append(iargs, "Patient", "urn:mrn", valueHash(benchMRN(patient)), fmt.Sprintf("pt-%06d", patient), at)
				}
			} else {
				status, outcome, code, b := StatusDelivered, "ok", 201, body
				switch r := i % 100; {
				case r < 6:
					status, outcome, code, b = StatusPending, "HTTP 503: vendor unavailable", 503, nil
				case r < 9:
					status, outcome, code, b = StatusDeadLetter, "HTTP 422: rejected by vendor", 422, nil
				case r < 10:
					status, outcome, code, b = StatusRejected, "invalid input", 0, nil
				}
				msgs = append(msgs, "(?, ?, 'out', ?, 'Appointment', ?, ?, ?, ?, ?, '', ?, ?, ?)")
				margs = append(margs, id, at, vendor+".create", res, vendor, status, outcome, b, id/2, code, 150000+i%90000)
				if status == StatusDelivered && i%4 == 1 {
					cross = append(cross, "(?, 'Appointment', ?, ?, ?)")
					cargs = append(cargs, vendor, res, benchVendorID(i), at)
				}
			}
			if err := flushAll(false); err != nil {
				return err
			}
		}
		return flushAll(true)
	})
}

// schemaHash is a short hash of the store's SQLite migrations, so that a
// cached benchmark store is rebuilt when one changes.
func schemaHash(b *testing.B) string {
	h := sha256.New()
	err := fs.WalkDir(migrationFS, "migrations/sqlite", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(migrationFS, p)
		h.Write(data)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
