package delivery

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solosim"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/shipped"
)

// BenchmarkAcceptToVendor measures the time from the commit that accepts
// a resource (when the endpoint answers 200) to its delivery reaching the
// vendor (the Solo simulator has the patient), one resource at a time,
// with the runner's default 1 s poll. It reports p50 and p99 besides the
// mean (ns/op). Run it with
//
//	go test -run XXX -bench AcceptToVendor -benchtime 60x ./batch/delivery
func BenchmarkAcceptToVendor(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchAcceptToVendor(b, filepath.Join(b.TempDir(), "fhirbridge.db")) })
	b.Run("postgres", func(b *testing.B) {
		base := pgtest.Start(b)
		benchAcceptToVendor(b, pgtest.CreateDatabase(b, base, fmt.Sprintf("bench_%d", time.Now().UnixNano())))
	})
}

func benchAcceptToVendor(b *testing.B, url string) {
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sim := solosim.New(solosim.Options{})
	srv := httptest.NewServer(sim)
	defer func() { _ = sim.Close(); srv.Close() }()
	c, err := solo.New(solo.Config{BaseURL: srv.URL, APIKey: solosim.DefaultAPIKey})
	if err != nil {
		b.Fatal(err)
	}
	p := solo.FlowPatient
	path, _ := shipped.Path("solo/patient")
	m, err := mapping.Load(shipped.FS, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(ctx, st, map[string]Flow{p: {Mapping: m, Connector: c, Vendor: "solo"}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(300 * time.Millisecond) // past the runner's first round
	var lat []time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("bench-%d", i)
		err := st.InTx(ctx, func(tx *store.Tx) error {
			v, _, err := tx.PutResource(ctx, "Patient", id, []byte(patientJSON(id)))
			if err != nil {
				return err
			}
			return Enqueue(ctx, tx, Job{Flow: p, ResourceType: "Patient", ResourceID: id, Version: v})
		})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		deadline := start.Add(10 * time.Second)
		for len(sim.Patients()) < i+1 {
			if time.Now().After(deadline) {
				b.Fatalf("resource %d not delivered within 10 s", i)
			}
			time.Sleep(200 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		// let the runner finish recording the delivery and go idle, so
		// that the next resource is not picked up by the claim that
		// follows this one's end
		b.StopTimer()
		time.Sleep(50 * time.Millisecond)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
}
