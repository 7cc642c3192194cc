// Package smart obtains access tokens for an EHR's FHIR API through SMART
// Backend Services (SMART App Launch 2.x, "Backend Services"): the
// client-credentials grant authenticated with private_key_jwt (RFC 7523).
//
// A [Source] discovers the token endpoint from
// {fhir base}/.well-known/smart-configuration (unless one is configured),
// signs a short-lived client assertion with the client's RS384 or ES384
// key ([Assertion]; keys from PEM files, [ParsePrivateKey]), POSTs
//
//	grant_type=client_credentials
//	scope={scopes}
//	client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
//	client_assertion={signed JWT}
//
// and caches the access token until it is due for renewal: at 80 % of
// expires_in or 60 s before expiry, whichever comes first. Callers that
// ask at the same time share one request (single flight). When the EHR
// refuses a token (401), the caller hands it to [Source.Invalidate] and
// the next [Source.Token] fetches a fresh one.
//
// Errors carry status codes, the OAuth error code and the configuration's
// own words, never a token, an assertion or key material; nothing here
// logs. Every answer read from the network is bounded in size
// ([MaxBody]) and parsed by code that is fuzzed.
package smart
