package app

import (
	"fmt"
	"time"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/connectors/ehr"
	"github.com/fhirbridge/fhirbridge/mapping/fhirpath"
)

// Flows builds the delivery flows and the router from the config's
// routes: each route is a flow named after it; with an ehr section, the
// flow delivery.EHRFlow PUTs write-backs to the EHR.
func Flows(c *config.Config, mods *bridge.Instances) (map[string]delivery.Flow, *delivery.Router, error) {
	fl := map[string]delivery.Flow{}
	router := &delivery.Router{}
	for i, r := range c.Routes {
		m, err := bridge.LoadMapping(r.Mapping, r.Params, c.Dir())
		if err != nil {
			return nil, nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		var when *fhirpath.Expr
		if r.When != "" {
			if when, err = fhirpath.Compile(r.When, fhirpath.Options{}); err != nil {
				return nil, nil, fmt.Errorf("routes[%d] (%s): when: %w", i, r.Name, err)
			}
		}
		w, err := mods.Wire(r.Connector, bridge.Route{Name: r.Name, Resource: r.Resource, Mapping: m, Params: r.Params})
		if err != nil {
			return nil, nil, fmt.Errorf("routes[%d] (%s): %w", i, r.Name, err)
		}
		f := delivery.Flow{Mapping: m, Vendor: r.Connector, Connector: w.Connector, Parent: w.Parent, Parents: w.Parents}
		check := w.Check
		f.ParentWait = time.Duration(r.ReferenceWait)
		fl[r.Name] = f
		router.Routes = append(router.Routes, delivery.Route{Flow: r.Name, Resource: r.Resource, When: when, Check: check,
			Parents: append([]string{f.Parent}, f.Parents...), AwaitParents: r.ReferenceWait > 0, Mapping: m})
	}
	for _, o := range mods.Observers() { // modules' projections of stored resources
		router.Observe(o)
	}
	own, err := mods.Flows()
	if err != nil {
		return nil, nil, err
	}
	for name, f := range own { // worker flows of modules, e.g. Solo's webhook events
		if _, dup := fl[name]; dup {
			return nil, nil, fmt.Errorf("routes: the name %q is a module's own flow; name the route otherwise", name)
		}
		fl[name] = f
	}
	if e := c.EHRConfig(); e != nil {
		if _, dup := fl[delivery.EHRFlow]; dup {
			return nil, nil, fmt.Errorf("routes: the name %q is the EHR write-back's flow (section ehr); name the route otherwise", delivery.EHRFlow)
		}
		conn, err := ehr.New(*e)
		if err != nil {
			return nil, nil, fmt.Errorf("ehr: %w", err)
		}
		// the write-back sends resources as stored: no mapping, no route
		fl[delivery.EHRFlow] = delivery.Flow{Connector: conn, Vendor: delivery.EHRFlow}
	}
	return fl, router, nil
}

// Modules builds the vendor modules of the configured connectors.
func Modules(c *config.Config) (*bridge.Instances, error) {
	return bridge.Build(c.ConnectorSection, c)
}

// Router builds the configured vendor modules and the router of the
// routes, for commands that store resources as serve does (re-processed
// files, imported reports) without delivering them.
func Router(c *config.Config) (*delivery.Router, error) {
	mods, err := Modules(c)
	if err != nil {
		return nil, err
	}
	_, r, err := Flows(c, mods)
	return r, err
}
