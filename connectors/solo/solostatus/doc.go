// Package solostatus brings what happens in Teladoc Health Solo back to
// FHIR (issue 5, parts 1 and 2).
//
// A [Syncer] fetches a Solo appointment (GET /qapi/v1/appointments/{id}),
// maps it with the shipped reverse mappings solo/appointment-status and
// solo/encounter, and stores the updated Appointment (a new version only
// when something changed) and the visit's Encounter ("solo-visit-<SAID>")
// in one store transaction, enqueueing both for the EHR when one is
// configured: delivery jobs of the flow Syncer.EHRFlow, which the delivery
// Runner PUTs to the EHR with the queue's retries and dead letters.
//
// A [Receiver] is the webhook endpoint: it checks the path token and
// decrypts the payload (solo.DecryptPayload), answering every failure with
// the same bytes, and records the event, before it answers 200, as a job
// of the worker flow [WebhookFlow] on the delivery queue. The job's key
// (the event id when Solo sends one, else the SHA-256 of the ciphertext)
// makes a replayed event a no-op. The delivery Runner then hands each
// event to [Syncer.Work], with the queue's backoff, Retry-After, circuit
// and dead letters: appointments through the Syncer, patients and
// episodes matched to their FHIR ids. An event naming an id the bridge
// does not know is logged by that id and dead-lettered as "unknown", to
// be tried again on the next event ([Syncer.RetryUnknown]) and by
// [Syncer.Replay]. (Before, events had a table and a retry loop of their
// own, solo_webhook_events; the line's migration 0002 moved its rows
// into the queue.)
//
// [Syncer.Poll] looks at stored Appointments not yet final, for sites
// that do not receive webhooks.
//
// Nothing here logs or returns patient values: only ids, counts, event
// types and status codes.
package solostatus
