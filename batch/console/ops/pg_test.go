package ops_test

import (
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// TestPostgres runs the handler tests again on a throwaway PostgreSQL
// cluster, one new database per test. It skips without the server
// binaries (or with -short), or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
func TestPostgres(t *testing.T) {
	newDB := pgtest.Databases(t, "console_ops")
	defer func(old func(*testing.T) string) { storeURL = old }(storeURL)
	storeURL = func(t *testing.T) string { return newDB(t) }
	for name, test := range map[string]func(*testing.T){
		"TestDeadLetterRetriedFromConsole": TestDeadLetterRetriedFromConsole,
		"TestBulkRetryConfirmation":        TestBulkRetryConfirmation,
		"TestViewerReadsOnly":              TestViewerReadsOnly,
		"TestActionsWithoutCSRFRefused":    TestActionsWithoutCSRFRefused,
		"TestExportRunNowAndDownload":      TestExportRunNowAndDownload,
		"TestReprocessFromConsole":         TestReprocessFromConsole,
	} {
		t.Run(name, test)
	}
}
