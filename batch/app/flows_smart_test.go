package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smart"
	"github.com/fhirbridge/fhirbridge/connectors/ehr/smartsim"
	"github.com/fhirbridge/fhirbridge/fhir"
)

// TestFlowsEHRSmart: with ehr.smart, serve's ehr flow authenticates with
// SMART tokens and writes conditionally: the EHR's comment survives.
func TestFlowsEHRSmart(t *testing.T) {
	pemText, pub, err := smartsim.NewKey(smart.ES384)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyPath, pemText, 0o600); err != nil {
		t.Fatal(err)
	}
	sim := smartsim.New("fhirbridge", smart.ES384, pub, time.Hour)
	defer sim.Close()
	if err := sim.Seed(`{"resourceType":"Appointment","id":"a1","status":"booked","comment":"EHR's words"}`); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "fhirbridge.yaml")
	src := "data_dir: " + dir + "\nehr:\n  fhir_base_url: " + sim.FHIRBase() + "\n  smart: {client_id: fhirbridge, alg: ES384, private_key: {file: " + keyPath + "}}\n"
	if err := os.WriteFile(cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := Modules(c)
	if err != nil {
		t.Fatal(err)
	}
	flows, _, err := Flows(c, mods)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := flows[delivery.EHRFlow]
	if !ok {
		t.Fatal("no ehr flow")
	}
	body, err := fhir.DecodeString(`{"resourceType":"Appointment","id":"a1","status":"cancelled","comment":"stale"}`, fhir.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Connector.Deliver(context.Background(), connectors.Delivery{Flow: delivery.EHRFlow, ResourceType: "Appointment", ResourceID: "a1", Body: body}); err != nil {
		t.Fatal(err)
	}
	got := sim.Resource("Appointment", "a1")
	if got["status"] != "cancelled" || got["comment"] != "EHR's words" || sim.Issued() != 1 {
		t.Errorf("EHR copy %v, %d tokens issued", got, sim.Issued())
	}
}
