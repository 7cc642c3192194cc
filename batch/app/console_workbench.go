package app

import _ "github.com/fhirbridge/fhirbridge/batch/console/workbench" // the console's Mapping workbench page
