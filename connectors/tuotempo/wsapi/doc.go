// Package wsapi carries tuOtempO's web services (package ws) over HTTP: the
// two transports the guide allows (REST with JSON, and SOAP 1.1
// document/literal wrapped with its WSDL), per-center authentication, and
// a Go client of both. It is written once over a *ws.Registry; the
// packages that answer from FHIR register the operations.
//
// # Mounting
//
// [Handler] serves every path under Options.Prefix (default
// "/tuotempo/ws/"); mount it on that pattern:
//
//	mux.Handle("/tuotempo/ws/", wsapi.Handler(reg, centers, wsapi.Options{}))
//
// # REST
//
//   - POST {prefix}rest/{operation} with Content-Type application/json and a
//     JSON object whose values are all strings: the parameters, including
//     CENTER_LID. 200 answers a JSON array of records for a List operation,
//     else one JSON object; each record holds the operation's Out fields
//     that are non-empty, Binary ones as standard base64.
//   - Errors: 400 (BadRequest) and 404 (NotFound, unknown operation) with
//     {"error": "<message>", "field": "<param>"} (field omitted when none);
//     401 with WWW-Authenticate for a missing or wrong credential; 503 with
//     Retry-After for Unavailable and any other failure, with the message
//     "temporarily unavailable" (the cause is logged by type only); 405,
//     413 (body over 64 KiB) and 415 (not JSON) as usual.
//   - GET {prefix}rest/ lists the operations and their fields as JSON (no
//     credential needed: it is the same information as the WSDL).
//
// # SOAP 1.1
//
//   - POST {prefix}soap, Content-Type text/xml, target namespace
//     urn:fhirbridge:tuotempo:ws. The Body holds one element
//     tns:{operation} whose children tns:{PARAM} (unqualified children are
//     accepted too) are the parameters, CENTER_LID included; all
//     xsd:string, minOccurs 0 except Required ones.
//   - The answer is tns:{operation}Response holding zero or more (List) or
//     exactly one tns:{operation}Result, each with one tns:{FIELD} child
//     per non-empty Out field (xsd:string; xsd:base64Binary for Binary).
//   - SOAPAction is urn:fhirbridge:tuotempo:ws#{operation}; it may be
//     missing, empty or quoted, but when given it must name the body's
//     operation.
//   - Faults (HTTP 500): soap:Client for BadRequest and NotFound
//     (faultstring is the error message; detail/tns:error carries tns:kind
//     "BadRequest" or "NotFound" and tns:field), soap:Server for the rest
//     ("temporarily unavailable"), soap:VersionMismatch for a non-1.1
//     envelope and soap:MustUnderstand for a mandatory header. A missing or
//     wrong credential is a soap:Client fault with HTTP 401.
//   - GET {prefix}soap?wsdl serves a WSDL 1.1 generated from the registry;
//     its soap:address is Options.PublicURL + "soap", else derived from the
//     request's Host and scheme (X-Forwarded-Proto is honoured).
//
// # Authentication
//
// The call's CENTER_LID must name a configured center and the request must
// carry that center's credential: "Authorization: Bearer <token>" for a
// center with a token, HTTP Basic for a center with a basic credential
// (either, when it has both). Every failure is the same 401, which does
// not say whether the center exists. HTTP Basic is refused on plain HTTP
// unless Options.AllowBasicWithoutTLS (loopback tests, the sandbox).
// Comparisons are constant-time.
//
// # Parameters
//
// After authentication the transport fills ws.Request{Center, Params}:
// empty parameters count as absent, unknown ones, a missing Required one
// and one longer than its Max (in characters) are BadRequest naming the
// parameter. Bodies are bounded (64 KiB); XML may not carry a DTD, must be
// UTF-8 and is bounded in depth and element count. No error echoes a
// parameter value; logs and metrics carry the operation, center, outcome,
// duration and record count only.
package wsapi
