package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/ingest"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// TestReadyzReportsStalledDelivery: /readyz answers 503 while a vendor has
// a due job and no claim for longer than the stall threshold (here the
// runner never runs), and 200 before that.
func TestReadyzReportsStalledDelivery(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := bridge.LoadMapping("solo/patient", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := solo.New(solo.Config{BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	var skew atomic.Int64
	runner, err := delivery.NewRunner(ctx, st, map[string]delivery.Flow{"p": {Mapping: m, Connector: conn, Vendor: "solo"}},
		delivery.Options{StallAfter: 3 * time.Minute, Clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		return delivery.Enqueue(ctx, tx, delivery.Job{Flow: "p", ResourceType: "Patient", ResourceID: "p1", Version: 1})
	}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(server.New(readyBackend{&ingest.Backend{Store: st}, runner}, server.Options{}))
	defer srv.Close()
	readyz := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := readyz(); code != 200 {
		t.Fatalf("/readyz before the stall threshold = %d, want 200", code)
	}
	skew.Store(int64(4 * time.Minute))
	if code := readyz(); code != 503 {
		t.Fatalf("/readyz with a due job unclaimed for 4m = %d, want 503", code)
	}
}
