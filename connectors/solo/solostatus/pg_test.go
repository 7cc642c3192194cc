package solostatus

import (
	"database/sql"
	"fmt"
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"testing"
)

// TestPostgres runs the queue and migration tests of the webhook events
// again on a throwaway PostgreSQL cluster, one database per test; it skips
// without the server binaries, or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func TestPostgres(t *testing.T) {
	if testing.Short() {
		pgtest.Skip(t, "-short")
	}
	base := pgtest.Start(t)
	admin, err := sql.Open("pgx", base+"/postgres")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	n := 0
	defer func(old func(*testing.T) string) { storeURL = old }(storeURL)
	storeURL = func(t *testing.T) string {
		n++
		name := fmt.Sprintf("solostatus_%d", n)
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("creating database: %v", err)
		}
		return base + "/" + name
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TestWebhookEventRetries", TestWebhookEventRetries},
		{"TestWebhookEventSurvivesRestart", TestWebhookEventSurvivesRestart},
		{"TestWebhookEventsMigration", TestWebhookEventsMigration},
		{"TestUnknownEventsAreKeptAndReplayed", TestUnknownEventsAreKeptAndReplayed},
	} {
		t.Run(tc.name, tc.fn)
	}
}
