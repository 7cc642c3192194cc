// Package ehrpush writes changed FHIR resources back to the EHR's FHIR
// endpoint, through a retry table in the store so that nothing is lost
// across restarts. It serves every flow that updates resources the EHR
// owns: the tuOtempO cancellation files (batch/inbound) and the Solo
// status flow (batch/solostatus).
//
// # Queue
//
// A caller changes a resource with store.Tx.PutResource and, in the same
// transaction, calls [Pusher.Queue] with the type, id and the version
// PutResource returned. The row lands in the table ehr_push (created by
// the package's migration line, which store.Open applies) keyed by the Pusher's queue name, type and id, so each caller
// sees and reports only its own rows; queueing a row that exists makes it
// due at once with a fresh attempt count (a dead row too: new content
// deserves a new try). The table holds ids, versions, counts, status codes
// and error messages, never a resource body: the body pushed is the
// current stored version, read when the push happens.
//
// # Push
//
// [Pusher.Push] takes the due rows of its queue (at most Config.MaxPerRun,
// oldest due first), claims each (so two instances do not send the same
// row at once) and sends the current stored version with
//
//	PUT {BaseURL}/{type}/{id}
//	Content-Type: application/fhir+json
//	Authorization: Bearer {token}
//
// without meta.versionId and meta.lastUpdated, which belong to the server
// that stores the resource (FHIR R4 RESTful API, "update"). A 2xx removes
// the row unless a newer version was queued meanwhile. Any other outcome
// is retried with backoff: 30 s, doubling per attempt, at most 1 h, or
// the server's Retry-After when longer (capped at 1 h as well). After
// Config.MaxAttempts failures, or at once on a 4xx other than 408 and 429
// (the EHR refused this content or our credentials), the row is dead: it
// stays in the table for an operator ([Pusher.Rows]) until the resource
// is queued again.
//
// Every push gives a [Result] (type, id, version, status, attempts, dead,
// error), also handed to Config.Observe for metrics. Errors are classified
// with connectors.Permanently and connectors.Transiently and carry the
// type, id and status code only: the EHR's answer body is read and
// discarded, since it may quote patient data.
//
// # Older stores
//
// Before this package, batch/inbound kept its queue in inbound_ehr_push
// and batch/solostatus in solo_status_push. Rows left in those tables by a
// store created before the change are not migrated (no deployment used
// them); the tables are no longer read or created.
package ehrpush
