package main

// The serve benchmark on both stores (issue 17, "The endpoint's cost"):
// the Bundles and clients of BenchmarkServeTransactions, posted to serve
// on SQLite, to one serve on PostgreSQL, and to three serve replicas
// in-process on one PostgreSQL database with the clients' requests spread
// round-robin over them. PostgreSQL runs with fsync on and
// synchronous_commit=on, so every 200 answer has paid its flush.
//
//	go test ./cmd/fhirbridge -run '^$' -bench ServeStores -benchtime 3s
//
// It skips the PostgreSQL cases when no PostgreSQL server is installed,
// and fails instead when FHIRBRIDGE_REQUIRE_POSTGRES=1.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// replicaSet is serve replicas sharing one store, posted to round-robin.
type replicaSet struct {
	servers []*benchServer
	next    atomic.Uint64
}

// startReplicas starts n serve replicas on the store at dbURL (empty:
// one replica on its own SQLite file).
func startReplicas(tb testing.TB, dbURL string, n, clients int) *replicaSet {
	tb.Helper()
	rs := &replicaSet{}
	for range n {
		rs.servers = append(rs.servers, startBenchServeOn(tb, dbURL, false, clients))
	}
	tb.Cleanup(rs.stop)
	return rs
}

func (rs *replicaSet) stop() {
	for _, s := range rs.servers {
		if s.stop != nil {
			s.stop()
			s.stop = nil
		}
	}
}

// post sends body to the next replica.
func (rs *replicaSet) post(body string) error {
	return rs.servers[(rs.next.Add(1)-1)%uint64(len(rs.servers))].post(body)
}

// BenchmarkServeStores posts distinct 10-entry transaction Bundles with C
// concurrent clients to serve on SQLite, on PostgreSQL with one replica,
// and on PostgreSQL with three replicas; one iteration is one Bundle
// acknowledged. Each case reports Bundles/s and p50/p99 latency.
func BenchmarkServeStores(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchReplicas(b, "", 1) })
	b.Run("postgres", func(b *testing.B) {
		if testing.Short() {
			pgtest.Skip(b, "-short")
		}
		base := pgtest.StartDurable(b) // one server for the PostgreSQL cases
		for i, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
				benchReplicas(b, pgtest.CreateDatabase(b, base, fmt.Sprintf("serve_bench_%d", i)), n)
			})
		}
	})
}

// benchReplicas runs the clients against n replicas on the store at url
// (empty: SQLite).
func benchReplicas(b *testing.B, url string, n int) {
	for _, c := range benchClients {
		b.Run(fmt.Sprintf("C=%d", c), func(b *testing.B) {
			rs := startReplicas(b, url, n, c)
			if _, _, err := runConcurrent(2*c*n, c, rs.post); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			wall, lat, err := runConcurrent(b.N, c, rs.post)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "bundles/s")
			reportLatency(b, lat)
		})
	}
}

// TestServeReplicasPostgres is the benchmark's smoke test: three serve
// replicas on one PostgreSQL database take Bundles round-robin, and the
// same Bundle posted again to another replica is answered from the first
// answer (idempotency by Bundle.identifier holds across replicas), with
// the resources stored once.
func TestServeReplicasPostgres(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	url := pgtest.CreateDatabase(t, pgtest.Start(t), "serve_replicas")
	rs := startReplicas(t, url, 3, 2)
	if _, _, err := runConcurrent(6, 2, rs.post); err != nil {
		t.Fatal(err)
	}
	body := benchBundle(bundleSeq.Add(1))
	var answers []string
	for _, s := range rs.servers {
		resp, err := s.client.Post(s.base+"/fhir", "application/fhir+json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rb, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /fhir to %s: %d %.300s", s.base, resp.StatusCode, rb)
		}
		answers = append(answers, string(rb))
	}
	for i, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("replica %d answered the repeated Bundle differently:\n%.300s\nfirst:\n%.300s", i+1, a, answers[0])
		}
	}
	if strings.Count(answers[0], `"201 Created"`) != 10 {
		t.Errorf("first answer does not create the 10 entries: %.500s", answers[0])
	}
}
