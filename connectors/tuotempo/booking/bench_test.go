package booking

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo/ws"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// load100k stores 200 practitioners × 500 slots (15 min apart from the
// fixed clock), directly through the store and the observer.
func load100k(b *testing.B, e *env) {
	ctx := context.Background()
	for p := range 200 {
		err := e.st.InTx(ctx, func(tx *store.Tx) error {
			put := func(doc string) error {
				v, err := fhir.DecodeString(doc, fhir.DecodeOptions{})
				if err != nil {
					return err
				}
				typ, id := v.ResourceType(), v.GetString("id")
				ver, _, err := tx.PutValue(ctx, typ, id, v)
				if err != nil {
					return err
				}
				return e.router.Route(ctx, tx, typ, id, ver, v)
			}
			if err := put(fmt.Sprintf(`{"resourceType":"Schedule","id":"bs-%d","actor":[{"reference":"Practitioner/bp-%d"},{"reference":"Location/loc-1"}]}`, p, p)); err != nil {
				return err
			}
			for i := range 500 {
				st := clock.Add(time.Hour + time.Duration(i)*15*time.Minute).Format(time.RFC3339)
				if err := put(slot(fmt.Sprintf("bs-%d-%d", p, i), fmt.Sprintf("bs-%d", p), st, 15, "free")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchAvailabilities searches 100,000 Slots, alternately for one
// practitioner and for all, AVA_RESULTS_NUMBER 20, and reports p99.
func BenchmarkSearchAvailabilities(b *testing.B) {
	e := newEnv(b, sqliteURL(b), nil)
	load100k(b, e)
	var op *ws.Operation
	for _, o := range e.svc.Operations() {
		if o.Name == "searchAvailabilities" {
			op = o
		}
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := map[string]string{"AVA_RESULTS_NUMBER": "20", "AVA_START_DAY": "03/06/2026"}
		if i%2 == 0 {
			p["RESOURCE_LID"] = fmt.Sprintf("bp-%d", i%200)
		}
		t0 := time.Now()
		recs, err := op.Call(context.Background(), &ws.Request{Center: "c1", Params: p})
		lat = append(lat, time.Since(t0))
		if err != nil || len(recs) != 20 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkAddAppointment books distinct slots one after another on
// SQLite and reports bookings per second.
func BenchmarkAddAppointment(b *testing.B) {
	e := newEnv(b, sqliteURL(b), nil)
	load100k(b, e)
	b.ResetTimer()
	t0 := time.Now()
	n := 0
	for b.Loop() {
		s := fmt.Sprintf("bs-%d-%d", n%200, n/200)
		rec, err := e.svc.Add(context.Background(), "c1", map[string]string{"ACTIVITY_LID": "a", "AVAILABILITY_LID": s, "USER_TID": fmt.Sprintf("T%d", n)})
		if err != nil || rec["ADD_RESULT"] != "OK" {
			b.Fatalf("%v %v", rec, err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(t0).Seconds(), "bookings/s")
}
