// Package inbound polls a remote folder for the files a vendor sends back
// and applies them to the FHIR store: today tuOtempO's cancellation file
// (spec "tuOtempO integration options", section A.1.2.1), one row per
// appointment the patient or the centre cancelled, confirmed or left
// pending.
//
// # Taking a file
//
// A Poller lists its job's folder on every Poll. A file matching the job's
// pattern is taken when it is stable: its size and modification time are
// unchanged since the previous poll and it is older than Spec.MinAge
// (judged by its modification time against the Poller's clock, so a server
// clock running ahead delays files by the skew) — or when its done marker
// (`<file><Spec.DoneMarker>`) exists.
//
// # Exactly once
//
// A taken file is downloaded (at most Spec.MaxFileSize bytes) to a
// temporary file and hashed (SHA-256). Then, in ONE store transaction, the
// file ledger (package batch/ledger) decides:
//
//   - an entry for the same job, path and hash exists: the file was applied
//     and the bridge stopped before moving it; nothing is applied again,
//     only the move is finished;
//   - an entry for the same job and hash under another path exists: the
//     content was delivered before; a duplicate entry is recorded and the
//     file goes to the error folder with a report naming the earlier file;
//   - otherwise the rows are applied and the ledger entry recorded, in the
//     same transaction.
//
// Only after the commit is the remote touched. A file whose size changed
// since it was downloaded stays in place (its new content is applied on a
// later poll; rows already applied write nothing again). Otherwise it
// moves to
// Spec.ProcessedDir when every row applied, else to Spec.ErrorDir; a
// sidecar `<name>.report.txt` (rendered from the ledger entry, so a
// recovered move writes the same report) goes beside it, and the done
// marker is removed. Poller.Reprocess re-runs one file on purpose.
//
// # Applying a row
//
// Each row is mapped by the reverse mapping (tuotempo/cancellation) into
// an Appointment carrying id, status and, for cancellations,
// cancelationReason. The stored Appointment of that id is updated: status
// and cancelationReason are replaced (cancelationReason is removed when
// the new status is not cancelled or noshow), and the provenance note is
// written as an extension, not Appointment.comment (which belongs to the
// EHR and may be shown to people):
//
//	{"url": "https://fhirbridge.dev/fhir/StructureDefinition/inbound-source",
//	 "valueString": "tuotempo-cancellations: cancellations_1.csv line 4"}
//
// replacing an earlier note with the same url, so the resource keeps one.
// The note names the job, the file's base name and the line, never a
// patient value. A row that changes neither status nor cancelationReason
// (the Appointment is in that state already) counts as ok and writes
// nothing, so re-applying a file adds no versions. A changed version is
// handed to the Router in the same transaction, so the update flows on
// (for example to Teladoc Solo) like any other.
//
// A row whose Appointment is not stored, that the mapping refuses, or that
// is malformed counts as failed, with its physical line number and a
// reason; the other rows still apply.
//
// # Pushing to the EHR
//
// With Options.EHRFlow set (delivery.EHRFlow), every changed Appointment
// is also enqueued, in the same transaction, as a delivery job of that
// flow: the delivery Runner of fhirbridge serve PUTs the stored version to
// the EHR's FHIR endpoint, with the queue's backoff, Retry-After, circuit
// breaker and dead letters (connectors/ehr; `fhirbridge deliveries`).
//
// # Privacy
//
// Reports, ledger details, errors and metric labels carry job names, file
// paths, line numbers, counts, appointment ids and status codes, never a
// cell of the file (the phone and email columns are not even mapped).
package inbound
