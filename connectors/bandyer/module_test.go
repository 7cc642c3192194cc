package bandyer

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

func TestLastDeliveredReadsTheNewestDeliveredBody(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "fhirbridge.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, m := range []store.Message{
		{Direction: store.Out, Kind: "r.create", ResourceType: "Appointment", ResourceID: "ap-1", Vendor: Name, Status: store.StatusDelivered, Body: []byte(`{"v":1}`)},
		{Direction: store.Out, Kind: "r.update", ResourceType: "Appointment", ResourceID: "ap-1", Vendor: Name, Status: store.StatusDelivered, Body: []byte(`{"v":2}`)},
		{Direction: store.Out, Kind: "r.update", ResourceType: "Appointment", ResourceID: "ap-1", Vendor: Name, Status: store.StatusRejected, Body: []byte(`{"v":3}`)},
		{Direction: store.Out, Kind: "r.update", ResourceType: "Appointment", ResourceID: "ap-1", Vendor: Name, Status: store.StatusDelivered, Outcome: "skipped"},
		{Direction: store.Out, Kind: "s.create", ResourceType: "Appointment", ResourceID: "ap-1", Vendor: "solo", Status: store.StatusDelivered, Body: []byte(`{"v":4}`)},
	} {
		if err := st.InTx(ctx, func(tx *store.Tx) error { _, err := tx.LogMessage(ctx, m); return err }); err != nil {
			t.Fatal(err)
		}
	}
	prev := LastDelivered(st)
	if b, err := prev(ctx, "Appointment", "ap-1"); err != nil || string(b) != `{"v":2}` {
		t.Fatalf("previous %s, %v", b, err)
	}
	if b, err := prev(ctx, "Appointment", "ap-2"); err != nil || b != nil {
		t.Fatalf("none: %s, %v", b, err)
	}
}

func TestServeRegistersTheRefusalMetric(t *testing.T) {
	c, _ := New(Config{BaseURL: "https://x"})
	m := &module{conn: c}
	reg := prometheus.NewRegistry()
	if err := m.Serve(context.Background(), &bridge.ServeEnv{Registry: reg}); err != nil {
		t.Fatal(err)
	}
	c.refused.Add(2)
	if n, err := testutil.GatherAndCount(reg, "fhirbridge_bandyer_immutable_refusals_total"); err != nil || n != 1 {
		t.Fatalf("metric %d, %v", n, err)
	}
	w, err := m.WireRoute(bridge.Route{Resource: "Appointment"})
	if err != nil || w.Connector != c || w.Check == nil {
		t.Fatalf("wiring %+v, %v", w, err)
	}
	if _, err := m.WireRoute(bridge.Route{Resource: "Encounter"}); err == nil {
		t.Fatal("an Encounter route was wired")
	}
	checks, err := m.ConnectionChecks()
	if err != nil || len(checks) != 1 || checks[0].Name != Name {
		t.Fatalf("checks %+v, %v", checks, err)
	}
}
