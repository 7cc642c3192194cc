package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/tyto"
	"github.com/fhirbridge/fhirbridge/fhir"
	"github.com/fhirbridge/fhirbridge/fhir/server"
	"github.com/fhirbridge/fhirbridge/mapping"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// routeWiring builds the connectors of the routes, once each, as they are
// first named.
type routeWiring struct {
	c    *config.Config
	solo *solo.Connector
	tyto *tyto.Connector
}

// wire completes the flow f of route r (mapping m) for one connector kind:
// it sets f.Connector and the parents to wait for, and returns the route's
// intake check (nil for none).
type wire func(w *routeWiring, r config.Route, m *mapping.Mapping, f *delivery.Flow) (func(*fhir.Value) error, error)

// wires are the connector kinds a route may name.
var wires = map[string]wire{
	solo.Name: (*routeWiring).soloFlow,
	tyto.Name: (*routeWiring).tytoFlow,
}

// flows builds the delivery flows and the router from the config's
// routes: each route is a flow named after it.
func flows(c *config.Config) (map[string]delivery.Flow, *delivery.Router, error) {
	fl := map[string]delivery.Flow{}
	router := &delivery.Router{}
	w := &routeWiring{c: c}
	for i, r := range c.Routes {
		m, err := loadMapping(r.Mapping, r.Params, c.Dir())
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
		build, ok := wires[r.Connector]
		if !ok {
			known := make([]string, 0, len(wires))
			for k := range wires {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, nil, fmt.Errorf("routes[%d] (%s): unknown connector %q (known: %s)", i, r.Name, r.Connector, strings.Join(known, ", "))
		}
		check, err := build(w, r, m, &f)
		if err != nil {
			return nil, nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		f.ParentWait = time.Duration(r.ReferenceWait)
		fl[r.Name] = f
		router.Routes = append(router.Routes, delivery.Route{Flow: r.Name, Resource: r.Resource, When: when, Check: check,
			Parents: append([]string{f.Parent}, f.Parents...), AwaitParents: r.ReferenceWait > 0, Mapping: m})
	}
	return fl, router, nil
}

func (w *routeWiring) soloFlow(r config.Route, m *mapping.Mapping, f *delivery.Flow) (func(*fhir.Value) error, error) {
	s := w.c.Connectors.Solo
	if s == nil {
		return nil, fmt.Errorf("connectors.solo is not configured")
	}
	if w.solo == nil {
		conn, err := solo.New(solo.Config{BaseURL: s.BaseURL, APIKey: solo.Secret(s.APIKey.Reveal()), Timeout: time.Duration(s.Timeout)})
		if err != nil {
			return nil, fmt.Errorf("connectors.solo: %w", err)
		}
		w.solo = conn
	}
	f.Connector = w.solo
	if l := s.Links; l != nil {
		f.Connector = solo.WithVideoLinks(w.solo, solo.VideoLinkOptions{MSTeams: l.MSTeams, TeamsAuthToken: solo.Secret(l.TeamsAuthToken.Reveal())})
	}
	switch r.Resource {
	case "Appointment", "EpisodeOfCare", "QuestionnaireResponse": // delivered under the patient's Solo id
		f.Parent = "Patient"
	}
	if m.Name() == solo.FlowAttachment {
		return solo.CheckDocumentReference, nil
	}
	return nil, nil
}

// tytoFlow binds the route to its tenant (params.tenant, else the
// default), waits for the visit's clinician and station (the pairing's
// station), and checks identifiers at intake with the route's
// params.identifier_system.
func (w *routeWiring) tytoFlow(r config.Route, m *mapping.Mapping, f *delivery.Flow) (func(*fhir.Value) error, error) {
	if w.c.Connectors.Tyto == nil {
		return nil, fmt.Errorf("connectors.tyto is not configured")
	}
	if w.tyto == nil {
		conn, err := tyto.New(w.c.Connectors.Tyto.ConnectorConfig())
		if err != nil {
			return nil, fmt.Errorf("connectors.tyto: %w", err)
		}
		w.tyto = conn
	}
	tc, err := w.tyto.ForTenant(r.Params["tenant"])
	if err != nil {
		return nil, fmt.Errorf("params.tenant: %w", err)
	}
	f.Connector = tc
	f.Parents = tyto.Parents(m.Name())
	return tyto.RouteCheck(m.Name(), r.Params["identifier_system"]), nil
}

// With Tyto configured the endpoint also takes Device (a Tyto device,
// paired with the station of Device.location).
func init() {
	registerServe(func(_ context.Context, env *serveEnv) error {
		if env.Config.Connectors.Tyto == nil {
			return nil
		}
		if len(env.Server.Types) == 0 {
			env.Server.Types = slices.Clone(server.DefaultTypes)
		}
		if !slices.Contains(env.Server.Types, "Device") {
			env.Server.Types = append(env.Server.Types, "Device")
		}
		return nil
	})
}
