package solo

import "github.com/fhirbridge/fhirbridge/connectors"

// Secret is a credential that prints redacted (see connectors.Secret).
type Secret = connectors.Secret
