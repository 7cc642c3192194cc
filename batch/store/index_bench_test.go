package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkPutBundle stores, per iteration and in one transaction, the
// resources of one transaction Bundle of the endpoint's benchmark (3
// Patients, 4 Appointments referencing them, 3 Encounters), all new:
// the share of a put that is the search index (about 4 rows per
// resource) shows against the same figure with the index left out.
func BenchmarkPutBundle(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := 0
	for b.Loop() {
		n++
		err := s.InTx(ctx, func(tx *Tx) error {
			for k := range 3 {
				body := fmt.Sprintf(`{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.36.146.595.217.0.1","value":"MRN-B%d-%d"}],"active":true,"name":[{"use":"official","family":"Ejemplo%d","given":["Lucía","Marta"]}],"telecom":[{"system":"phone","value":"+34 910 %03d %03d","use":"home"},{"system":"email","value":"p%d-%d@example.org"}],"gender":"female","birthDate":"1980-04-02"}`, n, k, k, n%1000, k, n, k)
				if _, _, err := tx.PutResource(ctx, "Patient", fmt.Sprintf("pat-b%d-%d", n, k), []byte(body)); err != nil {
					return err
				}
			}
			for k := range 4 {
				body := fmt.Sprintf(`{"resourceType":"Appointment","status":"booked","serviceType":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/service-type","code":"124"}]}],"start":"2026-12-%02dT08:30:00Z","end":"2026-12-%02dT08:45:00Z","participant":[{"actor":{"reference":"Patient/pat-b%d-%d"},"status":"accepted"}]}`, 1+k, 1+k, n, k%3)
				if _, _, err := tx.PutResource(ctx, "Appointment", fmt.Sprintf("appt-b%d-%d", n, k), []byte(body)); err != nil {
					return err
				}
			}
			for k := range 3 {
				body := fmt.Sprintf(`{"resourceType":"Encounter","status":"planned","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"VR"},"subject":{"reference":"Patient/pat-b%d-%d"},"appointment":[{"reference":"Appointment/appt-b%d-%d"}]}`, n, k, n, k)
				if _, _, err := tx.PutResource(ctx, "Encounter", fmt.Sprintf("enc-b%d-%d", n, k), []byte(body)); err != nil {
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
