package delivery

import (
	"github.com/fhirbridge/fhirbridge/batch/store/pgtest"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"path/filepath"
	"slices"
	"testing"
)

// pgTests is the store-backed suite TestPostgres runs again on PostgreSQL.
// TestPostgres fails when a test calling newEnv or storeURL is missing here.
var pgTests = map[string]func(*testing.T){
	"TestPatientThenAppointment":            TestPatientThenAppointment,
	"TestAppointmentWaitsForPatient":        TestAppointmentWaitsForPatient,
	"TestTransient503ThenRecovery":          TestTransient503ThenRecovery,
	"TestAttemptsLogged":                    TestAttemptsLogged,
	"TestRetryAfterHonoured":                TestRetryAfterHonoured,
	"TestPermanentDeadLetteredThenRetried":  TestPermanentDeadLetteredThenRetried,
	"TestTimeoutAfterCommitCreatesOnce":     TestTimeoutAfterCommitCreatesOnce,
	"TestUpdatesInOrder":                    TestUpdatesInOrder,
	"TestReconnectStaysPending":             TestReconnectStaysPending,
	"TestConcurrentOpen":                    TestConcurrentOpen,
	"TestTwoRunnersShareQueue":              TestTwoRunnersShareQueue,
	"TestLeaseExpiry":                       TestLeaseExpiry,
	"TestQueueOps":                          TestQueueOps,
	"TestFailedClaimCommitGivesSlotsBack":   TestFailedClaimCommitGivesSlotsBack,
	"TestRouteIntake":                       TestRouteIntake,
	"TestParentWaitBound":                   TestParentWaitBound,
	"TestIdleQueueNeverStalls":              TestIdleQueueNeverStalls,
	"TestStallThresholdAboveAttemptTimeout": TestStallThresholdAboveAttemptTimeout,
	"TestEHRPushMigration":                  TestEHRPushMigration,
	"TestStoreRelated":                      TestStoreRelated,
	"TestReplicasRespectVendorLimits":       TestReplicasRespectVendorLimits,
	"TestDeadNodeJobsReclaimed":             TestDeadNodeJobsReclaimed,
	"TestLeaveHandsJobsBack":                TestLeaveHandsJobsBack,
	"TestEnqueueWakesRunner":                TestEnqueueWakesRunner,
	"TestEnqueueWorkKeepsRequestID":         TestEnqueueWorkKeepsRequestID,
	"TestReclaimBySameOwnerFences":          TestReclaimBySameOwnerFences,
	"TestLimitsChecked":                     TestLimitsChecked,
	"TestFlowLimits":                        TestFlowLimits,
	"TestDeleteRouted":                      TestDeleteRouted,
	"TestDeleteWhen":                        TestDeleteWhen,
	"TestBrowse":                            TestBrowse,
	"TestDrainGrace":                        TestDrainGrace,
}

// TestPostgres runs the store-backed tests against a throwaway PostgreSQL
// cluster, one new database per test. Like batch/store's TestPostgres it
// skips without the server binaries, or fails when
// FHIRBRIDGE_REQUIRE_POSTGRES=1.
func TestPostgres(t *testing.T) {
	checkPGTests(t)
	newDB := pgtest.Databases(t, "delivery")
	defer func(old func(*testing.T) string) { storeURL = old }(storeURL)
	storeURL = func(t *testing.T) string { return newDB(t) }
	for _, name := range slices.Sorted(maps.Keys(pgTests)) {
		t.Run(name, pgTests[name])
	}
}

// checkPGTests fails when a Test function of this package that calls
// newEnv or storeURL is not in pgTests.
func checkPGTests(t *testing.T) {
	files, _ := filepath.Glob("*_test.go")
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || len(fn.Name.Name) < 5 || fn.Name.Name[:4] != "Test" {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok {
					if id, ok := c.Fun.(*ast.Ident); ok && (id.Name == "newEnv" || id.Name == "storeURL") && pgTests[fn.Name.Name] == nil {
						t.Errorf("%s (%s) uses the store but is not in pgTests", fn.Name.Name, f)
					}
				}
				return true
			})
		}
	}
}
