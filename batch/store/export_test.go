package store

// Test helpers for the external tests of package store_test (lines_test.go),
// which import the packages whose migration lines they check.
var (
	// SplitStatements is splitStatements.
	SplitStatements = splitStatements
)
