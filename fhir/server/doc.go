// Package server serves the FHIR R4 HTTP endpoint of fhirbridge. It knows
// nothing of vendors or storage: the caller injects a Backend.
//
// Routes (bodies are application/fhir+json; application/json is accepted,
// and Content-Encoding: gzip):
//
//	POST /fhir                            transaction or batch Bundle
//	POST /fhir/{type}                     create; If-None-Exist makes it conditional
//	PUT  /fhir/{type}/{id}                update (or create with that id); If-Match makes it conditional
//	PUT  /fhir/{type}?…                   conditional update: identifier=system|value and/or
//	                                      _id=id; no match creates, one updates, several 412
//	DELETE /fhir/{type}/{id}              delete: a new version marked deleted, 204 (If-Match
//	                                      makes it conditional); reads then answer 410 Gone
//	DELETE /fhir/{type}?…                 conditional delete of the single match (204; none
//	                                      matching is 204 too, several 412)
//	GET  /fhir/{type}/{id}                read, with ETag W/"version" and Last-Modified
//	GET  /fhir/{type}?…                   search, for the types with an Options.Searches entry
//	GET  /fhir/{type}/{id}/_history/{vid} vread (Versioned backend)
//	GET  /fhir/{type}/{id}/_history       instance history (Versioned backend)
//	GET  /fhir/{type}/_history            type history (Versioned backend)
//	POST /fhir/{type}/$validate           validate a resource (or Parameters with
//	                                      resource and mode); 200 OperationOutcome, no commit
//	POST /fhir/$validate                  the same for a Bundle (also /fhir/Bundle/$validate)
//	GET  /fhir/metadata                   the CapabilityStatement (no token needed)
//	GET  /healthz                         always 200
//	GET  /readyz                          Backend.Ready
//	GET  /metrics                         Prometheus metrics (token with Options.MetricsAuth)
//
// With Options.Tokens, every route under /fhir but metadata checks the
// bearer token first, before the type, method or body, so a caller without
// one learns nothing. A fhirVersion other than 4.0 in Content-Type is
// answered 415, and in every range of Accept 406.
//
// Only JSON is served: a _format other than json, application/json or
// application/fhir+json (xml, turtle, …), or an Accept header none of whose
// ranges admits FHIR JSON (application/fhir+xml alone, say), is answered
// 406 with an OperationOutcome on every route under /fhir, metadata
// included. _format overrides Accept, as R4 says.
//
// $validate runs the same strict check as every write, and as
// `fhirbridge validate` (fhir.Validate): its answer is 200 with the issues
// and their element paths, or one informational issue when the content is
// valid; a body that is not JSON, or not of the type of the URL, is 400.
// It takes a decoding slot and obeys the size limits like any body, and
// commits nothing, stores no idempotency record and counts no rejected
// body. mode=create and mode=update (which needs the resource id) are
// accepted; mode=delete and profile are refused with 400.
//
// Every request is parsed strictly (duplicate and case-variant keys,
// invalid UTF-8, excessive depth and trailing data are refused; too many
// values or array items get 413, and at most MaxDecodes bodies are decoded
// at once) and
// validated with fhir.Validate before the Backend sees it. A transaction is
// all or nothing: one invalid entry answers 400 with an OperationOutcome
// whose issue.expression points at Bundle.entry[i], and nothing is
// committed. A batch commits each valid entry on its own and answers a
// batch-response with a status, and an outcome for failures, per entry.
//
// Search: a Searcher declares its parameters; with Query it is paged
// (_count, next links with an opaque _cursor, _sort, _summary=count,
// _include). A parameter it does not declare is ignored and named in an
// OperationOutcome entry of the searchset, or answered 400 under
// "Prefer: handling=strict".
//
// Idempotency: a Bundle is keyed by Bundle.identifier (system|value), or
// else by the SHA-256 of its body; a create by the SHA-256 of its type,
// If-None-Exist and body. A repeat is answered with the stored response of
// the first (Backend.Seen) and commits nothing. The Backend stores that
// response in the commit transaction (Request.Response), so a crash after
// commit and before the reply still replays the same answer.
//
// Transaction and batch Bundles take the same interactions as entries:
// POST (with ifNoneExist), PUT Type/id, PUT Type?condition, DELETE
// Type/id and DELETE Type?condition.
//
// A delete is routed like any other change, never dropped: the Backend
// stores it as a new version marked deleted and hands it to its delivery
// routes. Deleting a deleted resource again changes nothing (204); one
// never stored is 404; a later PUT revives it as a new version.
//
// Versions: every read and write answers ETag W/"version". If-Match on a
// PUT (or entry.request.ifMatch in a Bundle) makes the update conditional
// on that version being current: otherwise 412 and nothing is stored (a
// whole transaction is refused). Entity tags are parsed strictly: W/"3"
// or "3", anything else is a 400 naming the header or element. Reads and
// vreads answer 304 to an If-None-Match naming the version, or (without
// If-None-Match, from a Versioned backend) to an If-Modified-Since not
// older than the version's lastUpdated. History Bundles (type history)
// list versions newest first, _count per page (default 50, at most 1000),
// _since, and a next link carrying an opaque _cursor.
//
// Errors are OperationOutcome resources whose texts come from a fixed
// vocabulary and element paths: no value of the request, and no text of a
// backend error (which may quote stored values), ever appears in a
// response, a log line or a metric label.
package server
