package ops_test

import (
	"database/sql"
	"fmt"
	"testing"

	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
)

// TestPostgres runs the handler tests again on a throwaway PostgreSQL
// cluster, one new database per test. It skips without the server
// binaries (or with -short), or fails when FHIRBRIDGE_REQUIRE_POSTGRES=1.
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
		name := fmt.Sprintf("console_ops_%d", n)
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("creating database: %v", err)
		}
		return base + "/" + name
	}
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
