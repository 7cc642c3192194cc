// Package server serves the FHIR R4 HTTP endpoint of fhirbridge. It knows
// nothing of vendors or storage: the caller injects a Backend.
//
// Routes (bodies are application/fhir+json; application/json is accepted,
// and Content-Encoding: gzip):
//
//	POST /fhir               transaction or batch Bundle
//	POST /fhir/{type}        create; If-None-Exist makes it conditional
//	PUT  /fhir/{type}/{id}   update (or create with that id)
//	GET  /fhir/{type}/{id}   read, with ETag W/"version" and Last-Modified
//	GET  /fhir/{type}?…      search, for the types with an Options.Searches entry
//	GET  /fhir/metadata      the CapabilityStatement (no token needed)
//	GET  /healthz            always 200
//	GET  /readyz             Backend.Ready
//	GET  /metrics            Prometheus metrics (token with Options.MetricsAuth)
//
// With Options.Tokens, every route under /fhir but metadata checks the
// bearer token first, before the type, method or body, so a caller without
// one learns nothing. A fhirVersion other than 4.0 in Content-Type is
// answered 415, and in every range of Accept 406.
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
// Errors are OperationOutcome resources whose texts come from a fixed
// vocabulary and element paths: no value of the request, and no text of a
// backend error (which may quote stored values), ever appears in a
// response, a log line or a metric label.
package server
