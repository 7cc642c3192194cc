package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// flows builds the delivery flows and the router from the config's
// routes: each route is a flow named after it.
func flows(c *config.Config) (map[string]delivery.Flow, *delivery.Router, error) {
	fl := map[string]delivery.Flow{}
	router := &delivery.Router{}
	var soloConn *solo.Connector
	for i, r := range c.Routes {
		spec := r.Mapping
		if !isFile(spec) && isFile(filepath.Join(c.Dir(), spec)) {
			spec = filepath.Join(c.Dir(), spec)
		}
		m, err := loadMapping(spec, r.Params)
		if err != nil {
			return nil, nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		var when *fhirpath.Expr
		if r.When != "" {
			if when, err = fhirpath.Compile(r.When, fhirpath.Options{}); err != nil {
				return nil, nil, fmt.Errorf("routes[%d] (%s): when: %w", i, r.Name, err)
			}
		}
		f := delivery.Flow{Mapping: m, Vendor: r.Connector}
		var check func(*fhir.Value) error
		switch r.Connector {
		case "solo":
			if c.Connectors.Solo == nil {
				return nil, nil, fmt.Errorf("routes[%d] (%s): connectors.solo is not configured", i, r.Name)
			}
			if soloConn == nil {
				s := c.Connectors.Solo
				if soloConn, err = solo.New(solo.Config{BaseURL: s.BaseURL, APIKey: solo.Secret(s.APIKey.Reveal()), Timeout: time.Duration(s.Timeout)}); err != nil {
					return nil, nil, fmt.Errorf("connectors.solo: %w", err)
				}
			}
			f.Connector = soloConn
			if l := c.Connectors.Solo.Links; l != nil {
				f.Connector = solo.WithVideoLinks(soloConn, solo.VideoLinkOptions{MSTeams: l.MSTeams, TeamsAuthToken: solo.Secret(l.TeamsAuthToken.Reveal())})
			}
			switch r.Resource {
			case "Appointment", "EpisodeOfCare", "QuestionnaireResponse": // delivered under the patient's Solo id
				f.Parent = "Patient"
			}
			if m.Name() == solo.FlowAttachment {
				check = solo.CheckDocumentReference
			}
		default:
			return nil, nil, fmt.Errorf("routes[%d] (%s): unknown connector %q (known: solo)", i, r.Name, r.Connector)
		}
		fl[r.Name] = f
		router.Routes = append(router.Routes, delivery.Route{Flow: r.Name, Resource: r.Resource, When: when, Check: check})
	}
	return fl, router, nil
}
