package solomod

import (
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// PerfectAnswer holds the lookup tables of the perfect-answer flow
// (route mapping solo/perfect-answer):
//
//	connectors:
//	  solo:
//	    perfect_answer:
//	      locations: {ed-main: 3f1c2a9e-8d4b-4c1e-9a7f-0b5e6d7c8a91}
//	      reasons: {"http://snomed.info/sct|230690007": Stroke, eeg-stat: EEG Stat}
type PerfectAnswer struct {
	// Locations maps a FHIR Location id (ServiceRequest.locationReference)
	// to Solo's FMS locationId.
	Locations map[string]string `yaml:"locations"`
	// Reasons maps a reasonCode coding ("system|code", or a bare code or
	// text) to Stroke, EEG Stat or EEG Routine; without it Solo's three
	// names are taken as they are.
	Reasons map[string]string `yaml:"reasons"`
}

func (x *PerfectAnswer) fillDefaults() {}

func (x *PerfectAnswer) validate() []error {
	return solo.CheckPerfectAnswerTables(x.tables(), key("perfect_answer"))
}

// tables are the connector's lookup tables.
func (x *PerfectAnswer) tables() solo.PerfectAnswerTables {
	return solo.PerfectAnswerTables{Locations: x.Locations, Reasons: x.Reasons}
}
