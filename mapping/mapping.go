package mapping

import (
	"errors"
	"strconv"

	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// Mapping is a compiled mapping file. It is immutable and safe for
// concurrent use.
type Mapping struct {
	name, desc       string
	version          int
	dir              Direction
	source, resource string
	output, input    string
	columns          []string
	targets          []string
	vars             []mvar
	each             *fhirpath.Expr // nil: one record per resource
	when             *fhirpath.Expr
	fields           []*node
	paramVars        map[string]fhirpath.Collection // shared, read-only
	paramNames       []string                       // declared, in file order
}

// Each reports whether the mapping gives one record per item of its
// `each` expression (use [Mapping.ApplyAll]) rather than one per resource.
func (m *Mapping) Each() bool { return m.each != nil }

// Params lists the parameters the mapping declares, in file order.
func (m *Mapping) Params() []string { return append([]string(nil), m.paramNames...) }

// mvar is one compiled `vars` entry.
type mvar struct {
	name string
	expr *fhirpath.Expr
	text string
}

// paramSpec is one declared parameter.
type paramSpec struct {
	def      *string
	required bool
}

// Name returns the mapping's name.
func (m *Mapping) Name() string { return m.name }

// Version returns the mapping's version.
func (m *Mapping) Version() int { return m.version }

// Description returns the mapping's description.
func (m *Mapping) Description() string { return m.desc }

// Direction returns Forward or Reverse.
func (m *Mapping) Direction() Direction { return m.dir }

// SourceType returns the FHIR resource type a forward mapping reads, or the
// vendor record name of a reverse mapping.
func (m *Mapping) SourceType() string { return m.source }

// ResourceType returns the FHIR resource type a reverse mapping produces
// ("" for forward mappings).
func (m *Mapping) ResourceType() string { return m.resource }

// Output returns "row" or "json" for forward mappings, "json" for reverse.
func (m *Mapping) Output() string { return m.output }

// Input returns "csv", "json" or "hl7v2" for reverse mappings, "" for
// forward.
func (m *Mapping) Input() string { return m.input }

// Columns returns the top-level targets in order (the CSV header of a row
// output). The caller must not modify the slice.
func (m *Mapping) Columns() []string { return m.targets }

// InputColumns returns the expected CSV header of a reverse mapping
// (`columns:`), or nil when not declared.
func (m *Mapping) InputColumns() []string { return m.columns }

// CheckHeader verifies that a reverse CSV mapping's declared columns are all
// present in header; it names the first missing column.
func (m *Mapping) CheckHeader(header []string) error {
	for _, want := range m.columns {
		found := false
		for _, h := range header {
			if h == want {
				found = true
				break
			}
		}
		if !found {
			return errors.New("mapping " + m.name + ": missing column " + strconv.Quote(want))
		}
	}
	return nil
}
