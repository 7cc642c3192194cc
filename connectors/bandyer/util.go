package bandyer

import (
	"fmt"
	"sort"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// permanentf is a Permanent error built like fmt.Errorf.
func permanentf(format string, args ...any) error {
	return connectors.Permanently(fmt.Errorf(format, args...))
}

func sortStrings(s []string) { sort.Strings(s) }
