// Package export builds the scheduled flat-file exports a vendor reads from
// a file server: today tuOtempO's Data Export (spec A.1.1, mapping
// tuotempo/export) and every Sincro view as a file (A.2.1, B.1:
// tuotempo/reservations, tuotempo/resources, tuotempo/activities,
// tuotempo/insurances, the relation views and the availabilities).
//
// One export (Run) selects the current resources of the mapping's source
// type from the store — Appointments whose start lies in a window around the
// export time, future Slots (start from the export time up to the window's
// After), or every current resource of other types — maps each one to its
// rows (a relation view gives several; a resource's rows are written all or
// none), binding %bundle to the resources pointing at it (a Practitioner's
// PractitionerRoles; a Slot's Schedule's Practitioner's PractitionerRoles),
// writes a CSV file with a header (also when there is no row, so the vendor
// can tell "nothing" from "missing") and a manifest (<file>.manifest.json:
// rows, refused ids, SHA-256, window, mapping version), uploads both with
// connectors.Remote.Put (temporary name, then rename), and records the file
// in the ledger (batch/ledger) in one store transaction.
//
// Rows are streamed: the CSV is written to a temporary file on local disk
// while its SHA-256 is computed, so memory does not grow with the export;
// each upload attempt re-reads that file. A row the mapping refuses is
// counted and reported by resource id in the Result, the manifest and the
// ledger entry, never dropped silently, and does not stop the export.
//
// A Schedule (cron expression + IANA zone) says when a job runs; its Next is
// DST-safe (a local time that does not exist runs at the first instant after
// the gap; one that happens twice runs at the first). A Runner runs one job
// on its Schedule with an injected Clock, records each scheduled local slot
// so a restart does not run a slot twice, and reports failures to a
// callback (the caller sends the alert mail).
//
// Errors and logs name jobs, files, resource ids and counts, never patient
// values.
package export
