// Package ops holds the operator console's operations pages: the
// Dashboard (per vendor and flow: jobs delivered, pending, retrying and
// dead in the last hour and day, the oldest waiting job, the circuit
// state; each export job's last file and outcome; each inbound feed's
// last file; the store's size), Deliveries (the delivery queue filtered
// and keyset-paged, retry and discard of one job, bulk retry of the dead
// letters a filter selects after a confirmation showing their count) and
// Exports and files (export schedules with their next run, run now, a past
// export's download, the file ledger, reprocess an inbound file).
//
// The pages act through the same code as the CLI: delivery.Queue (the
// `deliveries` commands), bridge.PickReprocessor (`files reprocess`) and
// the modules' bridge.ExportScheduler (`export <vendor>`). Viewers read;
// operators retry, discard, run and reprocess; analysts download exports
// (they hold patient data: each download is audited as a PHI view). Every
// action is audited with our ids and counts. The pages show ids, states,
// counts, file paths and classified reasons, never patient values.
package ops
