// Package all links every connector and Remote kind into a program: import
// it for its side effect (each package registers itself in init), so the
// registries know "solo", "tuotempo", "tyto", "vsee", "local", "sftp" and "ftp".
package all

import (
	// Remote kinds: connectors.OpenRemote by RemoteConfig.Kind.
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/ftpremote"
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/localremote"
	_ "github.com/fhirbridge/fhirbridge/connectors/internal/sftpremote"

	// Vendor modules: bridge.RegisterModule and connectors.Register by name.
	_ "github.com/fhirbridge/fhirbridge/connectors/bandyer"
	_ "github.com/fhirbridge/fhirbridge/connectors/solo/solomod"
	_ "github.com/fhirbridge/fhirbridge/connectors/tuotempo"
	_ "github.com/fhirbridge/fhirbridge/connectors/tyto"
	_ "github.com/fhirbridge/fhirbridge/connectors/vsee"
)
