// Package browsertest drives a headless Chromium for the console's
// browser tests: one browser per test binary run, one isolated browser
// context (its own cookies) per signed-in user, and full-page screenshots.
//
// The browser is Debian's chromium (or any Chrome found on PATH). A test
// that asks for it is skipped when none is installed, unless the
// environment sets FHIRBRIDGE_REQUIRE_CHROMIUM=1 (CI does), and then it
// fails. Screenshots go to the test's temporary folder, or to the
// repository's docs/console folder when FHIRBRIDGE_SCREENSHOTS=1, so a
// plain test run never changes the tree:
//
//	FHIRBRIDGE_SCREENSHOTS=1 go test -count=1 -run TestConsoleBrowser ./cmd/fhirbridge
package browsertest
