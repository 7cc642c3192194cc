package main

import (
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/connectors/tuotempo"
)

// tuotempoModule builds the tuOtempO module of c alone (not every
// configured vendor's), for the demo's export run; nil when
// connectors.tuotempo is absent. It goes with demo_tuotempo.go.
func tuotempoModule(c *config.Config) (*tuotempo.Module, error) {
	cfg, ok := c.ConnectorSection(tuotempo.Name).(*tuotempo.Config)
	if !ok {
		return nil, nil
	}
	return tuotempo.New(cfg, c)
}
