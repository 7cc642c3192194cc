// Package tyto holds the shipped TytoCare mappings (tyto/clinician,
// tyto/station, tyto/device, tyto/visit) and their test cases as data. FS
// serves them until mapping/shipped embeds this folder itself.
package tyto

import "embed"

// FS holds the mapping files and their cases, at their base names
// (clinician.yaml, clinician.cases.yaml, …).
//
//go:embed *.yaml
var FS embed.FS
