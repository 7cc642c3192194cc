package solostatus

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// TestPostgres runs the queue and migration tests of the webhook events
// again on a throwaway PostgreSQL cluster, one database per test; it skips
// without the server binaries, or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func TestPostgres(t *testing.T) {
	newDB := pgtest.Databases(t, "solostatus")
	defer func(old func(*testing.T) string) { storeURL = old }(storeURL)
	storeURL = func(t *testing.T) string { return newDB(t) }
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
