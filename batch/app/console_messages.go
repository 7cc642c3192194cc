package app

// The console's Messages page registers itself.
import _ "github.com/fhirbridge/fhirbridge/batch/console/messages"
