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
// the same bytes, and records the event in solo_webhook_events. The table's
// keys (the SHA-256 of the ciphertext, and the event id when Solo sends
// one) make a replayed event a no-op. [Syncer.ProcessEvents] then handles
// recorded events: appointments through the Syncer, patients and episodes
// matched to their FHIR ids. An event naming an id the bridge does not
// know is logged by that id and kept ("unknown") to be tried again on the
// next event and by [Syncer.Replay].
//
// [Syncer.Poll] looks at stored Appointments not yet final, for sites
// that do not receive webhooks.
//
// Nothing here logs or returns patient values: only ids, counts, event
// types and status codes.
package solostatus
