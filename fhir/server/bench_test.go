package server

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/fhir"
)

// BenchmarkServeTransaction posts 10-entry transaction Bundles through the
// handler with the in-memory backend. Each iteration is one Bundle; the
// bodies differ so that idempotency never short-cuts. Compare with
// BenchmarkValidateTransaction for the overhead of the endpoint.
func BenchmarkServeTransaction(b *testing.B) {
	e := newEnv(b, Options{})
	e.fb.lean = true
	body := transactionN(10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// A distinct identifier per Bundle (same length, same work).
		doc := strings.Replace(body, `"type":"transaction",`,
			fmt.Sprintf(`"type":"transaction","identifier":{"value":"b%09d"},`, i), 1)
		r := httptest.NewRequest("POST", "/fhir", strings.NewReader(doc))
		r.Header.Set("Content-Type", "application/fhir+json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}

// BenchmarkValidateTransaction decodes and validates the same bytes with
// package fhir alone: the floor of BenchmarkServeTransaction.
func BenchmarkValidateTransaction(b *testing.B) {
	body := strings.Replace(transactionN(10), `"type":"transaction",`,
		`"type":"transaction","identifier":{"value":"b000000000"},`, 1)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := fhir.DecodeString(body, fhir.DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if oo := fhir.Validate(v, ""); oo.HasErrors() {
			b.Fatal(oo)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
}

// BenchmarkOverheadRatio alternates validation alone and a full request on
// the same bytes, so that both see the same machine load, and reports
// serve time / validate time as "ratio" (1.25 = the endpoint adds 25%).
func BenchmarkOverheadRatio(b *testing.B) {
	e := newEnv(b, Options{})
	e.fb.lean = true
	body := transactionN(10)
	var tv, ts time.Duration
	for i := 0; b.Loop(); i++ {
		doc := strings.Replace(body, `"type":"transaction",`,
			fmt.Sprintf(`"type":"transaction","identifier":{"value":"b%09d"},`, i), 1)
		t0 := time.Now()
		v, err := fhir.DecodeString(doc, fhir.DecodeOptions{})
		if err != nil || fhir.Validate(v, "").HasErrors() {
			b.Fatal("invalid fixture")
		}
		t1 := time.Now()
		r := httptest.NewRequest("POST", "/fhir", strings.NewReader(doc))
		r.Header.Set("Content-Type", "application/fhir+json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		tv, ts = tv+t1.Sub(t0), ts+time.Since(t1)
	}
	b.ReportMetric(float64(ts)/float64(tv), "ratio")
	b.ReportMetric(float64(b.N)/ts.Seconds(), "served-bundles/s")
	b.ReportMetric(float64(b.N)/tv.Seconds(), "validated-bundles/s")
}
