package main

// The serve benchmark of issue 3 ("Speed"): 10-entry transaction Bundles
// posted over real HTTP to an in-process serve on a temporary SQLite
// store (WAL, synchronous=FULL), compared with google/fhir validation
// alone (fhir.DecodeString + fhir.Validate) of the same bytes.
//
//	go test ./cmd/fhirbridge -run '^$' -bench 'ServeTransactions|ValidateOnly|ServeOverheadRatio' -benchtime 3s -count 3
//
// BenchmarkServeOverheadRatio is the figure to publish: the machine may be
// shared and noisy, so it alternates short rounds of validation alone and
// of serve in one process and reports their ratio.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/app"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// benchClients are the numbers of concurrent clients (and, for
// validation alone, goroutines).
var benchClients = []int{4, 16}

// bundleSeq makes every Bundle of the process distinct: Bundle
// identifier, resource ids, MRNs and fullUrls.
var bundleSeq atomic.Int64

// benchBundle returns the n-th 10-entry transaction Bundle: 3 Patients
// (POST with ifNoneExist on a unique MRN), 4 Appointments and 3
// Encounters (PUT with unique ids) referencing them by fullUrl.
func benchBundle(n int64) string {
	var b strings.Builder
	b.Grow(8 << 10)
	u := func(k int) string { return fmt.Sprintf("urn:uuid:7a1c0e52-%04d-4c1e-8f00-%012d", k, n) }
	fmt.Fprintf(&b, `{"resourceType":"Bundle","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:0d1f2a8e-0000-4b7e-9c11-%012d"},"type":"transaction","entry":[`, n)
	for k := 0; k < 3; k++ {
		if k > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"fullUrl":"%s","resource":{"resourceType":"Patient","identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},"system":"urn:oid:1.2.36.146.595.217.0.1","value":"MRN-B%d-%d"}],"active":true,"name":[{"use":"official","family":"Ejemplo%d","given":["Lucía","Marta"]}],"telecom":[{"system":"phone","value":"+34 910 %03d %03d","use":"home"},{"system":"phone","value":"+34 600 %03d %03d","use":"mobile"},{"system":"email","value":"p%d-%d@example.org"}],"gender":"female","birthDate":"1980-04-02"},"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=urn:oid:1.2.36.146.595.217.0.1|MRN-B%d-%d"}}`,
			u(k), n, k, k, n%1000, k, n%1000, k, n, k, n, k)
	}
	for k := 0; k < 4; k++ {
		fmt.Fprintf(&b, `,{"fullUrl":"%s","resource":{"resourceType":"Appointment","id":"appt-b%d-%d","status":"booked","serviceType":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/service-type","code":"124","display":"General Practice"}]}],"reasonCode":[{"text":"Follow-up of blood pressure"}],"start":"2026-12-%02dT08:30:00Z","end":"2026-12-%02dT08:45:00Z","participant":[{"actor":{"reference":"%s"},"status":"accepted"}]},"request":{"method":"PUT","url":"Appointment/appt-b%d-%d"}}`,
			u(3+k), n, k, 1+k, 1+k, u(k%3), n, k)
	}
	for k := 0; k < 3; k++ {
		fmt.Fprintf(&b, `,{"fullUrl":"%s","resource":{"resourceType":"Encounter","id":"enc-b%d-%d","status":"planned","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"VR","display":"virtual"},"subject":{"reference":"%s"},"appointment":[{"reference":"%s"}]},"request":{"method":"PUT","url":"Encounter/enc-b%d-%d"}}`,
			u(7+k), n, k, u(k), u(3+k), n, k)
	}
	b.WriteString(`]}`)
	return b.String()
}

// benchServer is a running serve (and, with routes, its Solo simulator).
type benchServer struct {
	base   string
	client *http.Client
	stop   func()
}

// startBenchServe starts serve in-process on a fresh SQLite store in a
// temporary directory. With routes, Patients and Appointments are routed
// to a Solo simulator on httptest, so that every POST also enqueues
// deliveries (and the delivery runner works in the background).
func startBenchServe(b testing.TB, routes bool, clients int) *benchServer {
	return startBenchServeOn(b, "", routes, clients)
}

// startBenchServeOn is startBenchServe on the store at dbURL (empty: a
// SQLite file in the temporary directory); extra is appended to the
// configuration.
func startBenchServeOn(b testing.TB, dbURL string, routes bool, clients int, extra ...string) *benchServer {
	b.Helper()
	dir := b.TempDir()
	yaml := "data_dir: " + dir + "\nserver: {listen: \"127.0.0.1:0\"}\n"
	if dbURL != "" {
		yaml += "database: {url: \"" + dbURL + "\"}\n"
	}
	var simSrv *httptest.Server
	if routes {
		sim := solosim.New(solosim.Options{APIKey: "k-bench", WaitingRooms: []string{"General Practice", "Telehealth"}})
		simSrv = httptest.NewServer(sim)
		os.Setenv("BENCH_SOLO_KEY", "k-bench")
		yaml += `connectors:
  solo: {base_url: "` + simSrv.URL + `", api_key: {env: BENCH_SOLO_KEY}}
routes:
  - {name: solo-patients, resource: Patient, mapping: solo/patient, connector: solo}
  - {name: solo-appointments, resource: Appointment, mapping: solo/appointment, connector: solo, params: {waiting_room: Telehealth}}
`
	}
	yaml += strings.Join(extra, "")
	cfg := filepath.Join(dir, "fhirbridge.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		b.Fatal(err)
	}
	c, err := config.Load(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.Serve(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a string) { addrc <- a })
	}()
	s := &benchServer{}
	select {
	case a := <-addrc:
		s.base = "http://" + a
	case err := <-done:
		cancel()
		b.Fatalf("serve ended: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		b.Fatal("serve did not start")
	}
	tr := &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true}
	s.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	s.stop = func() {
		tr.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("serve: %v", err)
			}
		case <-time.After(40 * time.Second):
			b.Error("serve did not stop")
		}
		if simSrv != nil {
			simSrv.Close()
		}
	}
	return s
}

// post sends one Bundle and checks the transaction-response.
func (s *benchServer) post(body string) error {
	resp, err := s.client.Post(s.base+"/fhir", "application/fhir+json", strings.NewReader(body))
	if err != nil {
		return err
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || !strings.Contains(string(rb), `"transaction-response"`) {
		return fmt.Errorf("POST /fhir: %d %.400s", resp.StatusCode, rb)
	}
	return nil
}

// validateBundle is what validation alone does with the same bytes.
func validateBundle(body string) error {
	v, err := fhir.DecodeString(body, fhir.DecodeOptions{})
	if err != nil {
		return err
	}
	if oo := fhir.Validate(v, ""); oo.HasErrors() {
		return fmt.Errorf("invalid benchmark Bundle: %+v", oo)
	}
	return nil
}

// runConcurrent runs n operations on c goroutines; op gets a fresh
// Bundle. It returns the wall time and every operation's latency.
func runConcurrent(n, c int, op func(string) error) (time.Duration, []time.Duration, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, c)
	errs := make([]error, c)
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < c; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				body := benchBundle(bundleSeq.Add(1))
				s := time.Now()
				if err := op(body); err != nil {
					errs[g] = err
					return
				}
				lat[g] = append(lat[g], time.Since(s))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	var all []time.Duration
	for g := range lat {
		all = append(all, lat[g]...)
		if errs[g] != nil {
			return wall, all, errs[g]
		}
	}
	return wall, all, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

var benchCases = []struct {
	name   string
	routes bool
}{{"store-only", false}, {"with-routes", true}}

// BenchmarkServeTransactions posts distinct 10-entry transaction Bundles
// with C concurrent clients to serve on SQLite; one iteration is one
// Bundle acknowledged (committed, synchronous=FULL).
func BenchmarkServeTransactions(b *testing.B) {
	for _, bc := range benchCases {
		for _, c := range benchClients {
			b.Run(fmt.Sprintf("%s/C=%d", bc.name, c), func(b *testing.B) {
				s := startBenchServe(b, bc.routes, c)
				defer s.stop()
				// warm up: connections, statement caches, the R4 validator
				if _, _, err := runConcurrent(2*c, c, s.post); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				wall, lat, err := runConcurrent(b.N, c, s.post)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/wall.Seconds(), "bundles/s")
				reportLatency(b, lat)
			})
		}
	}
}

// BenchmarkValidateOnly decodes and validates (google/fhir R4, every
// entry) the same kind of Bundles on the same numbers of goroutines: the
// floor of BenchmarkServeTransactions.
func BenchmarkValidateOnly(b *testing.B) {
	for _, c := range benchClients {
		b.Run(fmt.Sprintf("C=%d", c), func(b *testing.B) {
			if _, _, err := runConcurrent(2*c, c, validateBundle); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			wall, lat, err := runConcurrent(b.N, c, validateBundle)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/wall.Seconds(), "bundles/s")
			reportLatency(b, lat)
		})
	}
}

// BenchmarkServeOverheadRatio alternates, in one process, rounds of
// validation alone and rounds of posting to serve (each round 16·C
// Bundles on C goroutines), so that both see the same machine load. It
// reports
//
//	ratio      bridge Bundles/s ÷ validation-only Bundles/s (goal ≥ 0.80)
//	overhead-% how much longer the bridge takes per Bundle than
//	           validation alone (goal ≤ 25)
//	cpu-ratio  validation's CPU time per Bundle ÷ the bridge's (the
//	           ratio on a machine with cores to spare for neither)
//
// and both throughputs. One iteration is one round pair.
func BenchmarkServeOverheadRatio(b *testing.B) {
	for _, bc := range benchCases {
		for _, c := range benchClients {
			b.Run(fmt.Sprintf("%s/C=%d", bc.name, c), func(b *testing.B) {
				s := startBenchServe(b, bc.routes, c)
				defer s.stop()
				round := 16 * c
				if _, _, err := runConcurrent(2*c, c, s.post); err != nil {
					b.Fatal(err)
				}
				if _, _, err := runConcurrent(2*c, c, validateBundle); err != nil {
					b.Fatal(err)
				}
				var tv, ts, cv, cs time.Duration
				var lat []time.Duration
				b.ResetTimer()
				for b.Loop() {
					c0 := processCPU()
					w, _, err := runConcurrent(round, c, validateBundle)
					if err != nil {
						b.Fatal(err)
					}
					tv += w
					c1 := processCPU()
					w, l, err := runConcurrent(round, c, s.post)
					if err != nil {
						b.Fatal(err)
					}
					ts += w
					cv, cs = cv+c1-c0, cs+processCPU()-c1
					lat = append(lat, l...)
				}
				b.StopTimer()
				n := float64(b.N * round)
				served, validated := n/ts.Seconds(), n/tv.Seconds()
				b.ReportMetric(served/validated, "ratio")
				b.ReportMetric((float64(ts)/float64(tv)-1)*100, "overhead-%")
				// CPU time is far less disturbed by other users of a shared
				// machine than wall time: the bridge's CPU per Bundle
				// (server, store and the in-process HTTP clients) ÷
				// validation's.
				b.ReportMetric(float64(cv)/float64(cs), "cpu-ratio")
				b.ReportMetric(served, "served-bundles/s")
				b.ReportMetric(validated, "validated-bundles/s")
				reportLatency(b, lat)
			})
		}
	}
}
