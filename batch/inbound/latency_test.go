package inbound

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// TestEndpointLatencyDuringBigFile measures the FHIR endpoint's latency
// (one transaction Bundle at a time, each PUTting one Appointment) on
// SQLite while a cancellation file of N rows is applied: in one store
// transaction (the former behaviour) and in chunks of DefaultChunkRows.
// Gated: FHIRBRIDGE_INBOUND_LATENCY_ROWS=N (e.g. 200000) runs it,
// FHIRBRIDGE_INBOUND_LATENCY_CHUNKS lists the modes to compare: chunk
// sizes, and "one" for the whole file in one transaction (default "one"
// and DefaultChunkRows); the figures go to the test log (-v).
func TestEndpointLatencyDuringBigFile(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FHIRBRIDGE_INBOUND_LATENCY_ROWS"))
	if n <= 0 {
		t.Skip("set FHIRBRIDGE_INBOUND_LATENCY_ROWS to the file's row count to measure")
	}
	ids := make([]string, n)
	var b strings.Builder
	b.WriteString(header)
	for i := range n {
		ids[i] = "big" + strconv.Itoa(i)
		fmt.Fprintf(&b, "%s;;;;p;CANCELLED by USER\n", ids[i])
	}
	data := b.String()
	type mode struct {
		name  string
		chunk int
	}
	var modes []mode
	chunks := os.Getenv("FHIRBRIDGE_INBOUND_LATENCY_CHUNKS") // e.g. "one,1000,250"
	if chunks == "" {
		chunks = "one," + strconv.Itoa(DefaultChunkRows)
	}
	for _, c := range strings.Split(chunks, ",") {
		if strings.TrimSpace(c) == "one" {
			modes = append(modes, mode{"one transaction", 1 << 30})
			continue
		}
		k, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || k <= 0 {
			t.Fatalf("FHIRBRIDGE_INBOUND_LATENCY_CHUNKS: %q is neither a row count nor \"one\" (one transaction)", c)
		}
		modes = append(modes, mode{fmt.Sprintf("chunks of %d", k), k})
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, Spec{DoneMarker: ".done"}, Options{ChunkRows: mode.chunk})
			seed(t, e.st, ids)
			srv := httptest.NewServer(server.New(&ingest.Backend{Store: e.st}, server.Options{Logger: slog.New(slog.DiscardHandler)}))
			defer srv.Close()
			e.remote.write("cancellations_big.csv", data)
			e.remote.write("cancellations_big.csv.done", "")

			stop := make(chan struct{})
			var lat []time.Duration
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					body := fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Appointment","id":"probe%d","status":"booked","start":"2026-12-01T08:30:00Z","end":"2026-12-01T08:45:00Z","participant":[{"status":"accepted"}]},"request":{"method":"PUT","url":"Appointment/probe%d"}}]}`, k, k)
					t0 := time.Now()
					resp, err := http.Post(srv.URL+"/fhir", "application/fhir+json", strings.NewReader(body))
					if err != nil {
						t.Errorf("POST: %v", err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("POST: status %d", resp.StatusCode)
						return
					}
					lat = append(lat, time.Since(t0))
				}
			}()
			time.Sleep(200 * time.Millisecond) // a baseline before the file
			t0 := time.Now()
			rep, err := e.p.Poll(context.Background(), e.remote)
			applyTime := time.Since(t0)
			close(stop)
			wg.Wait()
			if err != nil || len(rep.Files) != 1 || rep.Files[0].Err != nil || rep.Files[0].RowsOK != n {
				t.Fatalf("poll: %v %+v", err, rep)
			}
			slices.Sort(lat)
			pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
			t.Logf("rows=%d chunk=%d apply=%s requests=%d p50=%s p99=%s max=%s",
				n, min(mode.chunk, n), applyTime.Round(time.Millisecond), len(lat),
				pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Millisecond))
		})
	}
}
