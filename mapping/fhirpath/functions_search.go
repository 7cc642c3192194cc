package fhirpath

import "github.com/fhirbridge/fhirbridge/fhir"

// searchValueOf is the project function searchValue(): s written as one
// value of a FHIR search parameter in a URL query (fhir.QuerySearchValue).
func searchValueOf(s string) string { return fhir.QuerySearchValue(s) }

func init() {
	// searchValue(): a string as one FHIR search value in a URL query,
	// for conditional URLs such as 'Patient?identifier=' +
	// %system.searchValue() + '|' + %value.searchValue().
	strFn("searchValue", 0, func(c *ctx, s string, _ []string) (Collection, error) {
		return c.one(String(searchValueOf(s))), nil
	})
}
