// Package workbench is the console's Mapping workbench page (analysts
// only): pick a configured route's mapping or a shipped one, edit its
// text, and run the current and the edited version on the stored
// resources of a time range or on a pasted input, then read the summary
// and the per-input field diffs and download the edited mapping's test
// cases. The engine is package batch/workbench; nothing is sent anywhere.
//
// A run is a background job with an id, owned by the analyst who started
// it: its page shows the progress (refreshed by the Refresh header, no
// script needed) and, once it has finished, the diffs. Progress shows
// counts and field names only; the diffs hold patient data, and each view
// of them is written to the audit log as a PHI view. Starting, cancelling
// and downloading cases are audited too, naming our ids and counts only.
package workbench
