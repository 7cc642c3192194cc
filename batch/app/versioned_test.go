package app

import "github.com/fhirbridge/fhirbridge/fhir/server"

// The endpoint's backend must keep serving vread, _history and
// If-Modified-Since: the server finds them by asserting server.Versioned.
var _ server.Versioned = readyBackend{}
